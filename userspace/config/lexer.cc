#include "config/lexer.h"

#include <fmt/format.h>

namespace tandem::config {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool ends_word(char c) { return is_space(c) || c == '{' || c == '}' || c == ';' || c == '"'; }

}  // namespace

bool tokenize(std::string_view text, std::vector<Token>* out, std::string* error) {
  out->clear();
  int line = 1;
  size_t i = 0;
  auto fail = [&](int at_line, const std::string& msg) {
    *error = fmt::format("{}: {}", at_line, msg);
    return false;
  };
  while (true) {
    if (out->size() >= kTokensPerFileMax) return fail(line, "too many tokens (file is not a resource file?)");
    while (i < text.size() && (is_space(text[i]) || text[i] == '#')) {
      if (text[i] == '#') {
        while (i < text.size() && text[i] != '\n') ++i;
        continue;
      }
      if (text[i] == '\n') ++line;
      ++i;
    }
    if (i >= text.size()) break;
    char c = text[i];
    if (c == '\0') return fail(line, "NUL byte in configuration text");
    if (c == '{' || c == '}' || c == ';') {
      out->push_back({c == '{' ? TokenKind::LBrace : c == '}' ? TokenKind::RBrace : TokenKind::Semicolon,
                      std::string(1, c), line});
      ++i;
      continue;
    }
    if (c == '"') {
      int start_line = line;
      std::string s;
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char d = text[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\n') break;  // strings do not span lines; report where it started
        if (d == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          s.push_back(text[i + 1]);
          i += 2;
        } else {
          s.push_back(d);
          ++i;
        }
        if (s.size() > kTokenBytesMax) return fail(start_line, "quoted string is longer than 4096 bytes");
      }
      if (!closed) return fail(start_line, "unterminated quoted string (missing '\"')");
      out->push_back({TokenKind::String, std::move(s), start_line});
      continue;
    }
    size_t start = i;
    while (i < text.size() && !ends_word(text[i]) && text[i] != '\0') ++i;
    if (i - start > kTokenBytesMax) return fail(line, "word is longer than 4096 bytes");
    out->push_back({TokenKind::Word, std::string(text.substr(start, i - start)), line});
  }
  out->push_back({TokenKind::End, "", line});
  return true;
}

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::End: return "end of file";
    case TokenKind::String: return fmt::format("'\"{}\"'", t.text);
    default: return fmt::format("'{}'", t.text);
  }
}

}  // namespace tandem::config
