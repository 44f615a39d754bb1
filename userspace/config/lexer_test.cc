#include "config/lexer.h"

#include <gtest/gtest.h>

namespace tandem::config {
namespace {

std::vector<Token> lex(std::string_view text) {
  std::vector<Token> t;
  std::string error;
  EXPECT_TRUE(tokenize(text, &t, &error)) << error;
  return t;
}

TEST(ConfigLexer, WordsPunctuationStringsAndLines) {
  auto t = lex("resource r0 {\n  net { shared-secret \"a b;{}\"; }\n}\n");
  ASSERT_EQ(t.size(), 11u);
  EXPECT_EQ(t[0].text, "resource");
  EXPECT_EQ(t[2].kind, TokenKind::LBrace);
  EXPECT_EQ(t[3].text, "net");
  EXPECT_EQ(t[3].line, 2);
  EXPECT_EQ(t[6].kind, TokenKind::String);
  EXPECT_EQ(t[6].text, "a b;{}");
  EXPECT_EQ(t[7].kind, TokenKind::Semicolon);
  EXPECT_EQ(t[9].kind, TokenKind::RBrace);
  EXPECT_EQ(t[9].line, 3);
  EXPECT_EQ(t[10].kind, TokenKind::End);
}

TEST(ConfigLexer, CommentsRunToEndOfLine) {
  auto t = lex("# a comment { ;\nword # trailing\n#\nother");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].text, "word");
  EXPECT_EQ(t[0].line, 2);
  EXPECT_EQ(t[1].text, "other");
  EXPECT_EQ(t[1].line, 4);
}

TEST(ConfigLexer, WordEndsAtSemicolonAndBrace) {
  auto t = lex("protocol C;address 1.2.3.4:5{");
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[1].text, "C");
  EXPECT_EQ(t[4].text, "1.2.3.4:5");
  EXPECT_EQ(t[5].kind, TokenKind::LBrace);
}

TEST(ConfigLexer, BackslashEscapesInStrings) {
  auto t = lex(R"("say \"hi\" \\ ok")");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].text, R"(say "hi" \ ok)");
}

TEST(ConfigLexer, EmptyStringIsAToken) {
  auto t = lex(R"(x "";)");
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[1].kind, TokenKind::String);
  EXPECT_EQ(t[1].text, "");
}

TEST(ConfigLexer, UnterminatedStringReportsStartLine) {
  std::vector<Token> t;
  std::string error;
  EXPECT_FALSE(tokenize("a\nb \"open\nmore\"", &t, &error));
  EXPECT_EQ(error, "2: unterminated quoted string (missing '\"')");
}

TEST(ConfigLexer, OverlongTokensAreRejected) {
  std::vector<Token> t;
  std::string error;
  EXPECT_FALSE(tokenize(std::string(5000, 'x'), &t, &error));
  EXPECT_EQ(error, "1: word is longer than 4096 bytes");
  EXPECT_FALSE(tokenize("\"" + std::string(5000, 'x') + "\"", &t, &error));
  EXPECT_EQ(error, "1: quoted string is longer than 4096 bytes");
}

TEST(ConfigLexer, NulByteIsRejected) {
  std::vector<Token> t;
  std::string error;
  EXPECT_FALSE(tokenize(std::string_view("a\0b", 3), &t, &error));
  EXPECT_EQ(error, "1: NUL byte in configuration text");
}

TEST(ConfigLexer, DescribeQuotesTokens) {
  EXPECT_EQ(describe(Token{TokenKind::Word, "x", 1}), "'x'");
  EXPECT_EQ(describe(Token{TokenKind::String, "a b", 1}), "'\"a b\"'");
  EXPECT_EQ(describe(Token{TokenKind::End, "", 1}), "end of file");
}

}  // namespace
}  // namespace tandem::config
