// Tokenizer for DRBD resource-file syntax: words, "quoted strings", '{', '}', ';'. '#' starts a comment
// that runs to the end of the line (only at the start of a token, so a '#' inside a word is kept).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::config {

// Bounds on hostile or broken input: a token longer than this is a mistake (a missing quote, usually),
// and a file with more tokens than this is not a resource file.
inline constexpr size_t kTokenBytesMax = 4096;
inline constexpr size_t kTokensPerFileMax = 200000;

enum class TokenKind { Word, String, LBrace, RBrace, Semicolon, End };

struct Token {
  TokenKind kind = TokenKind::End;
  std::string text;  // word or string contents (escapes resolved); "{", "}", ";" for punctuation
  int line = 0;
  bool is_value() const { return kind == TokenKind::Word || kind == TokenKind::String; }
};

// Splits `text` into tokens, ending with one End token. On error returns false and sets *error to
// "LINE: message" (the caller adds the file name) .
bool tokenize(std::string_view text, std::vector<Token>* out, std::string* error);

// How a token is shown in messages: words as is, strings quoted, End as "end of file".
std::string describe(const Token& t);

}  // namespace tandem::config
