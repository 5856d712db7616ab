// maunet/io/json.hpp: a small JSON value with a strict parser and a writer.
//
// maunet writes model configurations into checkpoints, training histories and result tables
// as JSON. This tiny implementation keeps the core free of optional dependencies (nlohmann_json
// remains optional). Objects keep their keys in insertion order, so output is stable.
// Numbers are doubles, written in the shortest form that reads back exactly (std::to_chars).
//
// The parser is strict RFC 8259 and safe on hostile input (model files carry JSON): numbers
// follow the JSON grammar exactly (no nan, inf, +1, 01, .5, 1.) and are converted with
// std::from_chars, independent of the C locale; a number beyond the range of double is refused;
// strings must not hold raw control characters; escapes are the eight of JSON plus \uXXXX with
// surrogate pairs combined (a lone surrogate is refused); nesting is limited to kMaxJsonDepth
// arrays and objects (recursion depth, so the stack is bounded). Every failure is a FormatError
// naming the source (file), the byte offset and what was expected.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "maunet/core/errors.hpp"

namespace maunet::io {

// Deepest nesting of arrays and objects the parser accepts.
inline constexpr int kMaxJsonDepth = 128;

class Json {
public:
    using Array = std::vector<Json>;
    using Object = std::vector<std::pair<std::string, Json>>;

    Json() = default;  // null
    Json(std::nullptr_t) {}
    Json(bool b) : v_(b) {}
    Json(int x) : v_(static_cast<double>(x)) {}
    Json(long x) : v_(static_cast<double>(x)) {}
    Json(long long x) : v_(static_cast<double>(x)) {}
    Json(unsigned x) : v_(static_cast<double>(x)) {}
    Json(unsigned long x) : v_(static_cast<double>(x)) {}
    Json(unsigned long long x) : v_(static_cast<double>(x)) {}
    Json(double x) : v_(x) {}
    Json(float x) : v_(static_cast<double>(x)) {}
    Json(const char* s) : v_(std::string(s)) {}
    Json(std::string s) : v_(std::move(s)) {}
    Json(Array a) : v_(std::make_shared<Array>(std::move(a))) {}
    Json(Object o) : v_(std::make_shared<Object>(std::move(o))) {}

    static Json object() { return Json(Object{}); }
    static Json array() { return Json(Array{}); }

    bool is_null() const { return v_.index() == 0; }
    bool is_bool() const { return v_.index() == 1; }
    bool is_number() const { return v_.index() == 2; }
    bool is_string() const { return v_.index() == 3; }
    bool is_array() const { return v_.index() == 4; }
    bool is_object() const { return v_.index() == 5; }

    bool as_bool() const { return get<bool>("a boolean"); }
    double as_number() const { return get<double>("a number"); }
    const std::string& as_string() const { return get<std::string>("a string"); }
    const Array& as_array() const { return *get<std::shared_ptr<Array>>("an array"); }
    const Object& as_object() const { return *get<std::shared_ptr<Object>>("an object"); }

    // Object member access; `at` throws FormatError naming the missing key.
    bool contains(const std::string& key) const {
        if (!is_object()) return false;
        for (const auto& kv : as_object())
            if (kv.first == key) return true;
        return false;
    }
    const Json& at(const std::string& key) const {
        for (const auto& kv : as_object())
            if (kv.first == key) return kv.second;
        throw FormatError("JSON: missing key '" + key + "'");
    }
    // Inserts or replaces a member (the value must be an object).
    Json& set(const std::string& key, Json value) {
        auto& obj = mutable_object();
        for (auto& kv : obj)
            if (kv.first == key) {
                kv.second = std::move(value);
                return *this;
            }
        obj.emplace_back(key, std::move(value));
        return *this;
    }
    Json& push_back(Json value) {
        mutable_array().push_back(std::move(value));
        return *this;
    }
    // Typed lookups with a default when the key is absent.
    double number_or(const std::string& key, double fallback) const {
        return contains(key) ? at(key).as_number() : fallback;
    }
    std::string string_or(const std::string& key, const std::string& fallback) const {
        return contains(key) ? at(key).as_string() : fallback;
    }
    bool bool_or(const std::string& key, bool fallback) const { return contains(key) ? at(key).as_bool() : fallback; }

    // Serialises; indent < 0 gives one line.
    std::string dump(int indent = -1) const {
        std::string out;
        write(out, indent, 0);
        return out;
    }

    // Parses `text`; `source` (a file name) starts every error message.
    static Json parse(const std::string& text, const std::string& source = "JSON") {
        Parser p{text, 0, source};
        Json v = p.value(0);
        p.skip_ws();
        if (p.pos != text.size()) p.fail("the end of the input");
        return v;
    }

private:
    template <class U>
    const U& get(const char* what) const {
        if (const U* p = std::get_if<U>(&v_)) return *p;
        throw FormatError(std::string("JSON: expected ") + what + ", found " + type_name());
    }
    const char* type_name() const {
        static const char* names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
        return names[v_.index()];
    }
    Object& mutable_object() {
        if (is_null()) v_ = std::make_shared<Object>();
        if (!is_object()) throw FormatError(std::string("JSON: set() on ") + type_name());
        auto& p = std::get<std::shared_ptr<Object>>(v_);
        if (p.use_count() > 1) p = std::make_shared<Object>(*p);  // copy on write
        return *p;
    }
    Array& mutable_array() {
        if (is_null()) v_ = std::make_shared<Array>();
        if (!is_array()) throw FormatError(std::string("JSON: push_back() on ") + type_name());
        auto& p = std::get<std::shared_ptr<Array>>(v_);
        if (p.use_count() > 1) p = std::make_shared<Array>(*p);
        return *p;
    }

    static void write_string(std::string& out, const std::string& s) {
        out += '"';
        for (unsigned char c : s) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (c < 0x20) {
                        char buf[8];
                        std::snprintf(buf, sizeof buf, "\\u%04x", c);
                        out += buf;
                    } else {
                        out += static_cast<char>(c);
                    }
            }
        }
        out += '"';
    }
    void write(std::string& out, int indent, int depth) const {
        auto newline = [&](int d) {
            if (indent < 0) return;
            out += '\n';
            out.append(static_cast<std::size_t>(indent * d), ' ');
        };
        switch (v_.index()) {
            case 0: out += "null"; break;
            case 1: out += std::get<bool>(v_) ? "true" : "false"; break;
            case 2: {
                const double x = std::get<double>(v_);
                if (!std::isfinite(x)) {
                    out += "null";  // JSON has no NaN or infinity
                } else if (x == std::floor(x) && std::abs(x) < 1e15) {
                    out += std::to_string(static_cast<long long>(x));
                } else {
                    char buf[64];
                    const auto res = std::to_chars(buf, buf + sizeof buf, x);
                    out.append(buf, res.ptr);
                }
                break;
            }
            case 3: write_string(out, std::get<std::string>(v_)); break;
            case 4: {
                const auto& a = as_array();
                out += '[';
                for (std::size_t i = 0; i < a.size(); ++i) {
                    if (i) out += indent < 0 ? ", " : ",";
                    newline(depth + 1);
                    a[i].write(out, indent, depth + 1);
                }
                if (!a.empty()) newline(depth);
                out += ']';
                break;
            }
            case 5: {
                const auto& o = as_object();
                out += '{';
                for (std::size_t i = 0; i < o.size(); ++i) {
                    if (i) out += indent < 0 ? ", " : ",";
                    newline(depth + 1);
                    write_string(out, o[i].first);
                    out += ": ";
                    o[i].second.write(out, indent, depth + 1);
                }
                if (!o.empty()) newline(depth);
                out += '}';
                break;
            }
        }
    }

    struct Parser {
        const std::string& s;
        std::size_t pos;
        const std::string& source;

        [[noreturn]] void fail(const std::string& expected) const { fail_at(pos, expected); }
        [[noreturn]] void fail_at(std::size_t at, const std::string& expected) const {
            std::string found = "the end of the input";
            if (at < s.size()) {
                const unsigned char c = static_cast<unsigned char>(s[at]);
                char buf[16];
                if (c >= 0x20 && c < 0x7f) std::snprintf(buf, sizeof buf, "'%c'", c);
                else std::snprintf(buf, sizeof buf, "byte 0x%02x", c);
                found = buf;
            }
            throw FormatError(maunet::detail::cat(source, ": at offset ", at, ": expected ", expected, ", found ", found));
        }
        void skip_ws() {
            while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) ++pos;
        }
        bool consume(const char* word) {
            const std::string w(word);
            if (s.compare(pos, w.size(), w) == 0) {
                pos += w.size();
                return true;
            }
            return false;
        }
        Json value(int depth) {
            skip_ws();
            if (pos >= s.size()) fail("a value");
            const char c = s[pos];
            if (c == '{' || c == '[') {
                if (depth >= kMaxJsonDepth)
                    fail(maunet::detail::cat("at most ", kMaxJsonDepth, " nested arrays and objects"));
                return c == '{' ? object(depth + 1) : array(depth + 1);
            }
            if (c == '"') return Json(string());
            if (consume("true")) return Json(true);
            if (consume("false")) return Json(false);
            if (consume("null")) return Json();
            return Json(number());
        }
        Json object(int depth) {
            ++pos;
            Json out = Json::object();
            skip_ws();
            if (pos < s.size() && s[pos] == '}') {
                ++pos;
                return out;
            }
            for (;;) {
                skip_ws();
                if (pos >= s.size() || s[pos] != '"') fail("a key string");
                std::string key = string();
                skip_ws();
                if (pos >= s.size() || s[pos] != ':') fail("':'");
                ++pos;
                out.set(key, value(depth));
                skip_ws();
                if (pos < s.size() && s[pos] == ',') {
                    ++pos;
                    continue;
                }
                if (pos < s.size() && s[pos] == '}') {
                    ++pos;
                    return out;
                }
                fail("',' or '}'");
            }
        }
        Json array(int depth) {
            ++pos;
            Json out = Json::array();
            skip_ws();
            if (pos < s.size() && s[pos] == ']') {
                ++pos;
                return out;
            }
            for (;;) {
                out.push_back(value(depth));
                skip_ws();
                if (pos < s.size() && s[pos] == ',') {
                    ++pos;
                    continue;
                }
                if (pos < s.size() && s[pos] == ']') {
                    ++pos;
                    return out;
                }
                fail("',' or ']'");
            }
        }
        // Four hex digits after "\u" (pos is at the first).
        unsigned hex4() {
            if (s.size() - pos < 4) fail("four hex digits after \\u");
            unsigned code = 0;
            for (int i = 0; i < 4; ++i, ++pos) {
                const char h = s[pos];
                unsigned d = 0;
                if (h >= '0' && h <= '9') d = static_cast<unsigned>(h - '0');
                else if (h >= 'a' && h <= 'f') d = static_cast<unsigned>(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') d = static_cast<unsigned>(h - 'A' + 10);
                else fail("a hex digit in a \\u escape");
                code = code * 16 + d;
            }
            return code;
        }
        static void append_utf8(std::string& out, unsigned code) {
            if (code < 0x80) {
                out += static_cast<char>(code);
            } else if (code < 0x800) {
                out += static_cast<char>(0xC0 | (code >> 6));
                out += static_cast<char>(0x80 | (code & 0x3F));
            } else if (code < 0x10000) {
                out += static_cast<char>(0xE0 | (code >> 12));
                out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (code & 0x3F));
            } else {
                out += static_cast<char>(0xF0 | (code >> 18));
                out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
                out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
                out += static_cast<char>(0x80 | (code & 0x3F));
            }
        }
        std::string string() {
            ++pos;  // opening quote
            std::string out;
            while (pos < s.size() && s[pos] != '"') {
                const char c = s[pos];
                if (static_cast<unsigned char>(c) < 0x20) fail("a character of a string (control characters must be escaped)");
                ++pos;
                if (c != '\\') {
                    out += c;
                    continue;
                }
                if (pos >= s.size()) fail("an escape character");
                const char e = s[pos++];
                switch (e) {
                    case '"': out += '"'; break;
                    case '\\': out += '\\'; break;
                    case '/': out += '/'; break;
                    case 'b': out += '\b'; break;
                    case 'f': out += '\f'; break;
                    case 'n': out += '\n'; break;
                    case 'r': out += '\r'; break;
                    case 't': out += '\t'; break;
                    case 'u': {
                        const std::size_t at = pos - 2;
                        unsigned code = hex4();
                        if (code >= 0xDC00 && code <= 0xDFFF) fail_at(at, "a \\u escape that is not a lone low surrogate");
                        if (code >= 0xD800 && code <= 0xDBFF) {  // high surrogate: a low one must follow
                            if (s.compare(pos, 2, "\\u") != 0) fail("a low surrogate \\uDC00-\\uDFFF after a high surrogate");
                            pos += 2;
                            const unsigned low = hex4();
                            if (low < 0xDC00 || low > 0xDFFF)
                                fail_at(pos - 6, "a low surrogate \\uDC00-\\uDFFF after a high surrogate");
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        }
                        append_utf8(out, code);
                        break;
                    }
                    default: fail_at(pos - 1, "a valid escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
                }
            }
            if (pos >= s.size()) fail("a closing '\"'");
            ++pos;
            return out;
        }
        // JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
        double number() {
            const std::size_t begin = pos;
            const auto digit = [&] { return pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; };
            const auto digits = [&](const char* what) {
                if (!digit()) fail(what);
                while (digit()) ++pos;
            };
            if (pos < s.size() && s[pos] == '-') ++pos;
            if (pos < s.size() && s[pos] == '0') {
                ++pos;
                if (digit()) fail("no leading zero in a number");
            } else {
                digits(pos == begin ? "a value" : "a digit after '-'");
            }
            if (pos < s.size() && s[pos] == '.') {
                ++pos;
                digits("a digit after the decimal point");
            }
            if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
                ++pos;
                if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) ++pos;
                digits("a digit in the exponent");
            }
            double x = 0;
            const auto res = std::from_chars(s.data() + begin, s.data() + pos, x);
            if (res.ec == std::errc::result_out_of_range) {
                // Underflow to zero is harmless; overflow is not a double.
                bool nonzero_mantissa = false;
                for (std::size_t i = begin; i < pos && s[i] != 'e' && s[i] != 'E'; ++i)
                    nonzero_mantissa = nonzero_mantissa || (s[i] >= '1' && s[i] <= '9');
                const std::size_t e = s.find_first_of("eE", begin);
                const bool negative_exponent = e < pos && e + 1 < pos && s[e + 1] == '-';
                if (nonzero_mantissa && !negative_exponent) fail_at(begin, "a number within the range of a double");
                return 0.0;
            }
            if (res.ec != std::errc() || res.ptr != s.data() + pos) fail_at(begin, "a number");
            return x;
        }
    };

    std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> v_{nullptr};
};

}  // namespace maunet::io
