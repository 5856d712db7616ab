// maunet/io/json.hpp: a small JSON value with a strict parser and a writer.
//
// maunet writes model configurations into checkpoints, training histories and result tables
// as JSON. This tiny implementation keeps the core free of optional dependencies (nlohmann_json
// remains optional). Objects keep their keys in insertion order, so output is stable.
// Numbers are doubles, written with 17 significant digits (round-trips exactly).
#pragma once

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

    static Json parse(const std::string& text) {
        Parser p{text, 0};
        Json v = p.value();
        p.skip_ws();
        if (p.pos != text.size()) p.fail("end of input");
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
                    char buf[32];
                    std::snprintf(buf, sizeof buf, "%.17g", x);
                    out += buf;
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

        [[noreturn]] void fail(const char* expected) const {
            throw FormatError("JSON: expected " + std::string(expected) + " at offset " + std::to_string(pos));
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
        Json value() {
            skip_ws();
            if (pos >= s.size()) fail("a value");
            const char c = s[pos];
            if (c == '{') return object();
            if (c == '[') return array();
            if (c == '"') return Json(string());
            if (consume("true")) return Json(true);
            if (consume("false")) return Json(false);
            if (consume("null")) return Json();
            return Json(number());
        }
        Json object() {
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
                out.set(key, value());
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
        Json array() {
            ++pos;
            Json out = Json::array();
            skip_ws();
            if (pos < s.size() && s[pos] == ']') {
                ++pos;
                return out;
            }
            for (;;) {
                out.push_back(value());
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
        std::string string() {
            ++pos;  // opening quote
            std::string out;
            while (pos < s.size() && s[pos] != '"') {
                char c = s[pos++];
                if (c == '\\') {
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
                            if (pos + 4 > s.size()) fail("four hex digits");
                            const unsigned code = static_cast<unsigned>(std::stoul(s.substr(pos, 4), nullptr, 16));
                            pos += 4;
                            if (code < 0x80) {
                                out += static_cast<char>(code);
                            } else if (code < 0x800) {
                                out += static_cast<char>(0xC0 | (code >> 6));
                                out += static_cast<char>(0x80 | (code & 0x3F));
                            } else {
                                out += static_cast<char>(0xE0 | (code >> 12));
                                out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
                                out += static_cast<char>(0x80 | (code & 0x3F));
                            }
                            break;
                        }
                        default: fail("a valid escape");
                    }
                } else {
                    out += c;
                }
            }
            if (pos >= s.size()) fail("a closing '\"'");
            ++pos;
            return out;
        }
        double number() {
            const char* begin = s.c_str() + pos;
            char* end = nullptr;
            const double x = std::strtod(begin, &end);
            if (end == begin) fail("a value");
            pos += static_cast<std::size_t>(end - begin);
            return x;
        }
    };

    std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>> v_{nullptr};
};

}  // namespace maunet::io
