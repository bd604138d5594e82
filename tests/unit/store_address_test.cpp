// Tests for durable/store_address.hpp: which store a --job-store value names, and how it is
// shown without its password.
#include "durable/store_address.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <string>

using namespace fcgihost;

class StoreAddressTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StoreAddressTest);
    CPPUNIT_TEST(store_names_choose_the_store);
    CPPUNIT_TEST(passwords_are_redacted);
    CPPUNIT_TEST_SUITE_END();

public:
    void store_names_choose_the_store() {
        CPPUNIT_ASSERT(is_postgres_store("postgresql://db.example/jobs"));
        CPPUNIT_ASSERT(is_postgres_store("postgres://u@db/jobs"));
        CPPUNIT_ASSERT(is_postgres_store("host=/run/postgresql dbname=jobs"));
        CPPUNIT_ASSERT(!is_postgres_store("/var/lib/app/jobs.db"));
        CPPUNIT_ASSERT(!is_postgres_store("jobs.db"));
    }

    void passwords_are_redacted() {
        CPPUNIT_ASSERT_EQUAL(std::string("postgresql://app:***@db.example:5432/jobs"),
                             redacted_store("postgresql://app:s3cr%40t@db.example:5432/jobs"));
        CPPUNIT_ASSERT_EQUAL(std::string("postgres://app@db/jobs"), redacted_store("postgres://app@db/jobs"));
        CPPUNIT_ASSERT_EQUAL(std::string("postgresql://db/jobs?user=app&password=***&sslmode=require"),
                             redacted_store("postgresql://db/jobs?user=app&password=hunter2&sslmode=require"));
        CPPUNIT_ASSERT_EQUAL(std::string("host=db password=*** dbname=jobs"),
                             redacted_store("host=db password=hunter2 dbname=jobs"));
        CPPUNIT_ASSERT_EQUAL(std::string("host=db password=*** dbname=jobs"),
                             redacted_store("host=db password='hun ter\\'2' dbname=jobs"));
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(StoreAddressTest, "unit");
