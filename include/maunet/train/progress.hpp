// maunet/train/progress.hpp: training progress for people: a one-line progress bar that
// redraws itself on a terminal, plain log lines when output goes to a file or a pipe (CI logs,
// batch jobs), nothing when quiet.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace maunet::train {

enum class ProgressStyle { automatic, bar, lines, quiet };

class Progress {
public:
    explicit Progress(ProgressStyle style = ProgressStyle::automatic, std::FILE* out = stderr) : out_(out) {
        if (style == ProgressStyle::automatic) style = ::isatty(::fileno(out)) ? ProgressStyle::bar : ProgressStyle::lines;
        style_ = style;
    }

    void start(const std::string& label, long total_steps) {
        label_ = label;
        total_ = total_steps;
        start_ = std::chrono::steady_clock::now();
    }
    // Called after each optimisation step (bar only).
    void step(long done, int epoch, int epochs, double loss) {
        if (style_ != ProgressStyle::bar) return;
        const double elapsed = seconds();
        const double eta = done > 0 ? elapsed * double(total_ - done) / double(done) : 0.0;
        const int width = 24;
        const int filled = total_ > 0 ? int(width * double(done) / double(total_)) : 0;
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(width, '.');
        std::fprintf(out_, "\r%s epoch %d/%d [%s] step %ld/%ld loss %.5f ETA %s   ", label_.c_str(), epoch, epochs,
                     bar.c_str(), done, total_, loss, clock(eta).c_str());
        std::fflush(out_);
    }
    // Called at the end of each epoch.
    void epoch(int epoch, int epochs, double train_loss, double val_loss, double lr, bool best) {
        if (style_ == ProgressStyle::quiet) return;
        if (style_ == ProgressStyle::bar) std::fprintf(out_, "\r\033[K");
        const double elapsed = seconds();
        const double left = epoch > 0 ? elapsed / double(epoch) * double(epochs - epoch) : 0.0;
        std::fprintf(out_, "%s epoch %3d/%d  train %.5f  val %.5f  lr %.2e  %s, %s left%s\n", label_.c_str(), epoch,
                     epochs, train_loss, val_loss, lr, clock(elapsed).c_str(), clock(left).c_str(), best ? "  *best" : "");
        std::fflush(out_);
    }
    void message(const std::string& text) {
        if (style_ == ProgressStyle::quiet) return;
        std::fprintf(out_, "%s %s\n", label_.c_str(), text.c_str());
    }
    double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    static std::string clock(double s) {
        char buf[32];
        const long t = static_cast<long>(s + 0.5);
        std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
        return buf;
    }
    std::FILE* out_;
    ProgressStyle style_ = ProgressStyle::lines;
    std::string label_;
    long total_ = 0;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace maunet::train
