// Tests for fcgihost/url.hpp: percent_decode and parse_query.
#include "http/url.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <utility>
#include <vector>

using namespace fcgihost;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string show(const Pairs& pairs) {
    std::string out;
    for (const auto& p : pairs) out += "[" + p.first + "=" + p.second + "]";
    return out;
}

}  // namespace

class UrlTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(UrlTest);
    CPPUNIT_TEST(testDecodePlainTextUnchanged);
    CPPUNIT_TEST(testDecodeUpperAndLowerHex);
    CPPUNIT_TEST(testDecodeHighByte);
    CPPUNIT_TEST(testPlusKeptWithoutPlusIsSpace);
    CPPUNIT_TEST(testPlusBecomesSpaceWithPlusIsSpace);
    CPPUNIT_TEST(testEncodedPlusStaysPlus);
    CPPUNIT_TEST(testTruncatedEscapeThrows);
    CPPUNIT_TEST(testNonHexEscapeThrows);
    CPPUNIT_TEST(testPercentAtEndThrows);
    CPPUNIT_TEST(testEncodedNulThrows);
    CPPUNIT_TEST(testQueryKeepsOrder);
    CPPUNIT_TEST(testQuerySkipsEmptySegments);
    CPPUNIT_TEST(testQueryKeyWithoutEquals);
    CPPUNIT_TEST(testQueryEqualsInsideValue);
    CPPUNIT_TEST(testQueryDecodesKeysAndValues);
    CPPUNIT_TEST(testQueryEmpty);
    CPPUNIT_TEST(testQueryBadEscapeThrows);
    CPPUNIT_TEST_SUITE_END();

public:
    void testDecodePlainTextUnchanged() {
        CPPUNIT_ASSERT_EQUAL(std::string("/a/b-c_d.e~f"), percent_decode("/a/b-c_d.e~f"));
        CPPUNIT_ASSERT_EQUAL(std::string(), percent_decode(""));
    }

    void testDecodeUpperAndLowerHex() {
        CPPUNIT_ASSERT_EQUAL(std::string("a b"), percent_decode("a%20b"));
        CPPUNIT_ASSERT_EQUAL(std::string("/?"), percent_decode("%2F%3F"));
        CPPUNIT_ASSERT_EQUAL(std::string("/?"), percent_decode("%2f%3f"));
        CPPUNIT_ASSERT_EQUAL(std::string("\xab\xcd"), percent_decode("%aB%Cd"));
    }

    void testDecodeHighByte() {
        // UTF-8 for "é" is C3 A9: bytes pass through as they are.
        CPPUNIT_ASSERT_EQUAL(std::string("caf\xc3\xa9"), percent_decode("caf%C3%A9"));
    }

    void testPlusKeptWithoutPlusIsSpace() {
        CPPUNIT_ASSERT_EQUAL(std::string("a+b"), percent_decode("a+b"));
        CPPUNIT_ASSERT_EQUAL(std::string("a+b"), percent_decode("a+b", false));
    }

    void testPlusBecomesSpaceWithPlusIsSpace() {
        CPPUNIT_ASSERT_EQUAL(std::string("a b c"), percent_decode("a+b+c", true));
    }

    void testEncodedPlusStaysPlus() {
        CPPUNIT_ASSERT_EQUAL(std::string("1+1"), percent_decode("1%2B1", true));
    }

    void testTruncatedEscapeThrows() {
        CPPUNIT_ASSERT_THROW(percent_decode("%4"), DecodeError);
        CPPUNIT_ASSERT_THROW(percent_decode("ab%4"), DecodeError);
    }

    void testNonHexEscapeThrows() {
        CPPUNIT_ASSERT_THROW(percent_decode("%zz"), DecodeError);
        CPPUNIT_ASSERT_THROW(percent_decode("%4g"), DecodeError);
        CPPUNIT_ASSERT_THROW(percent_decode("%g4"), DecodeError);
    }

    void testPercentAtEndThrows() {
        CPPUNIT_ASSERT_THROW(percent_decode("%"), DecodeError);
        CPPUNIT_ASSERT_THROW(percent_decode("abc%"), DecodeError);
    }

    void testEncodedNulThrows() {
        CPPUNIT_ASSERT_THROW(percent_decode("%00"), DecodeError);
        CPPUNIT_ASSERT_THROW(percent_decode("a%00b", true), DecodeError);
        // DecodeError is an invalid_argument, so generic callers can catch it as one.
        CPPUNIT_ASSERT_THROW(percent_decode("%00"), std::invalid_argument);
    }

    void testQueryKeepsOrder() {
        Pairs expected{{"b", "2"}, {"a", "1"}, {"b", "3"}};
        CPPUNIT_ASSERT_EQUAL(show(expected), show(parse_query("b=2&a=1&b=3")));
    }

    void testQuerySkipsEmptySegments() {
        Pairs expected{{"a", "1"}, {"b", "2"}};
        CPPUNIT_ASSERT_EQUAL(show(expected), show(parse_query("&a=1&&b=2&")));
    }

    void testQueryKeyWithoutEquals() {
        Pairs expected{{"a", "1"}, {"b", "x y"}, {"flag", ""}};
        CPPUNIT_ASSERT_EQUAL(show(expected), show(parse_query("a=1&b=x%20y&flag")));
    }

    void testQueryEqualsInsideValue() {
        Pairs expected{{"expr", "a=b=c"}, {"empty", ""}};
        CPPUNIT_ASSERT_EQUAL(show(expected), show(parse_query("expr=a=b=c&empty=")));
    }

    void testQueryDecodesKeysAndValues() {
        Pairs expected{{"first name", "Jo Ann"}, {"a&b", "c=d"}};
        CPPUNIT_ASSERT_EQUAL(show(expected), show(parse_query("first+name=Jo%20Ann&a%26b=c%3Dd")));
    }

    void testQueryEmpty() {
        CPPUNIT_ASSERT(parse_query("").empty());
        CPPUNIT_ASSERT(parse_query("&&").empty());
    }

    void testQueryBadEscapeThrows() {
        CPPUNIT_ASSERT_THROW(parse_query("a=%zz"), DecodeError);
        CPPUNIT_ASSERT_THROW(parse_query("ok=1&%4=x"), DecodeError);
        CPPUNIT_ASSERT_THROW(parse_query("a=%00"), DecodeError);
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(UrlTest, "unit");
