// The JobStore contract (include/fcgihost/job_store.hpp), one set of cases for every store.
// A Backend has `std::unique_ptr<JobStore> open()` returning an empty store it keeps alive;
// each store's test derives from JobStoreContract<Backend> with CPPUNIT_TEST_SUB_SUITE.
#pragma once

#include "durable/job_store.hpp"
#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <memory>
#include <set>

namespace fcgihost {
namespace contract {

inline NewJob new_job(const std::string& kind, const std::string& payload, const std::string& key = "",
                      unsigned max = 3) {
    NewJob j{kind, payload, {}};
    j.options.unique_key = key;
    j.options.max_attempts = max;
    return j;
}

const std::vector<std::string> kKinds = {"work"};

// An owner on this host whose process is gone: pid 2^22 + 1 is above the kernel's limit.
inline JobOwner dead_owner() {
    JobOwner o = JobOwner::self();
    o.pid = 4194305;
    return o;
}

template <class Backend>
class JobStoreContract : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JobStoreContract);
    CPPUNIT_TEST(enqueue_claim_complete);
    CPPUNIT_TEST(payload_bytes_come_back_exactly);
    CPPUNIT_TEST(unique_key_is_a_duplicate_while_waiting_or_running_only);
    CPPUNIT_TEST(failure_retries_later_then_dead_with_its_error);
    CPPUNIT_TEST(release_uses_no_attempt);
    CPPUNIT_TEST(unknown_kinds_wait);
    CPPUNIT_TEST(delay_makes_a_job_scheduled);
    CPPUNIT_TEST(rescue_frees_jobs_of_a_dead_owner_only);
    CPPUNIT_TEST(dead_job_retry_and_delete);
    CPPUNIT_TEST(priority_then_age_decide_the_claim_order);
    CPPUNIT_TEST(a_former_owner_cannot_end_a_job_claimed_again);
    CPPUNIT_TEST(complete_deletes_only_the_owners_jobs_of_a_batch);
    CPPUNIT_TEST(no_wakeup_runs_once_it_is_stopped);
    CPPUNIT_TEST_SUITE_END();

public:
    void enqueue_claim_complete() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        std::vector<EnqueueResult> r = store.enqueue_batch({new_job("work", "a"), new_job("work", "b")});
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.size());
        CPPUNIT_ASSERT(r[0].accepted() && r[1].accepted() && r[0].id != r[1].id);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.counts().waiting);
        std::vector<DurableJob> got = store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), got.size());
        CPPUNIT_ASSERT_EQUAL(1u, got[0].attempt);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.counts().running);
        CPPUNIT_ASSERT(store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30)).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), store.complete({got[0].id, got[1].id}, JobOwner::self()));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.counts().left());
    }

    void payload_bytes_come_back_exactly() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        const std::string bytes("a\0b\n\xff", 5);
        store.enqueue_batch({new_job("work", bytes)});
        CPPUNIT_ASSERT(bytes == store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0).payload);
    }

    void unique_key_is_a_duplicate_while_waiting_or_running_only() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        EnqueueResult first = store.enqueue_batch({new_job("work", "", "k", 1)}).at(0);
        std::vector<EnqueueResult> again = store.enqueue_batch({new_job("work", "", "k"), new_job("work", "", "other")});
        CPPUNIT_ASSERT(again[0].status == EnqueueStatus::duplicate);
        CPPUNIT_ASSERT_EQUAL(first.id, again[0].id);
        CPPUNIT_ASSERT(again[1].accepted());
        DurableJob job = store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0);
        CPPUNIT_ASSERT_EQUAL(first.id, job.id);
        CPPUNIT_ASSERT(store.enqueue_batch({new_job("work", "", "k")}).at(0).status == EnqueueStatus::duplicate);
        CPPUNIT_ASSERT(store.fail(job.id, JobOwner::self(), "boom", std::chrono::milliseconds(0)));  // max 1: dead
        CPPUNIT_ASSERT(store.enqueue_batch({new_job("work", "", "k")}).at(0).accepted());
    }

    void failure_retries_later_then_dead_with_its_error() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        std::int64_t id = store.enqueue_batch({new_job("work", "p", "", 2)}).at(0).id;
        store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30));
        CPPUNIT_ASSERT(!store.fail(id, JobOwner::self(), "first", std::chrono::hours(1)));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().retrying);
        CPPUNIT_ASSERT(store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).empty());  // not due
        StoredJob shown = *store.show(id);
        CPPUNIT_ASSERT(shown.state == StoredState::retrying);
        CPPUNIT_ASSERT(shown.run_at_ms > unix_ms_now() + 3500 * 1000);
        CPPUNIT_ASSERT(store.remove(id));
        id = store.enqueue_batch({new_job("work", "q", "", 2)}).at(0).id;
        store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30));
        CPPUNIT_ASSERT(!store.fail(id, JobOwner::self(), "first", std::chrono::milliseconds(0)));
        DurableJob again = store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0);
        CPPUNIT_ASSERT_EQUAL(2u, again.attempt);
        CPPUNIT_ASSERT(store.fail(id, JobOwner::self(), "x", std::chrono::milliseconds(0)));  // attempt 2 of 2: dead
        shown = *store.show(id);
        CPPUNIT_ASSERT(shown.state == StoredState::dead);
        CPPUNIT_ASSERT_EQUAL(std::string("x"), shown.last_error);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().dead);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.list(StoredState::dead, 10).size());
    }

    void release_uses_no_attempt() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        store.enqueue_batch({new_job("work", "p")});
        DurableJob job = store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0);
        store.release(job.id, JobOwner::self());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().waiting);
        CPPUNIT_ASSERT_EQUAL(1u, store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0).attempt);
    }

    void unknown_kinds_wait() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        store.enqueue_batch({new_job("newer-kind", "p")});
        CPPUNIT_ASSERT(store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30)).empty());
        CPPUNIT_ASSERT(!store.next_due(kKinds));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().waiting);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.claim(5, {"newer-kind"}, JobOwner::self(), std::chrono::seconds(30)).size());
    }

    void delay_makes_a_job_scheduled() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        NewJob later = new_job("work", "p");
        later.options.delay = std::chrono::hours(1);
        store.enqueue_batch({later});
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().scheduled);
        CPPUNIT_ASSERT(store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30)).empty());
        CPPUNIT_ASSERT(*store.next_due(kKinds) > unix_ms_now() + 3500 * 1000);
    }

    void rescue_frees_jobs_of_a_dead_owner_only() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        store.enqueue_batch({new_job("work", "mine"), new_job("work", "theirs")});
        store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30));
        store.claim(1, kKinds, dead_owner(), std::chrono::seconds(30));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.rescue());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().running);
        DurableJob again = store.claim(5, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0);
        CPPUNIT_ASSERT_EQUAL(std::string("theirs"), again.payload);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.rescue());
    }

    void dead_job_retry_and_delete() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        std::int64_t id = store.enqueue_batch({new_job("work", "p", "", 1)}).at(0).id;
        store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30));
        CPPUNIT_ASSERT(!store.remove(id));  // running: not deletable
        store.fail(id, JobOwner::self(), "boom", std::chrono::milliseconds(0));
        CPPUNIT_ASSERT(store.retry_dead(id));
        CPPUNIT_ASSERT(!store.retry_dead(id));  // no longer dead
        CPPUNIT_ASSERT_EQUAL(1u, store.claim(1, kKinds, JobOwner::self(), std::chrono::seconds(30)).at(0).attempt);
        store.fail(id, JobOwner::self(), "boom", std::chrono::milliseconds(0));
        CPPUNIT_ASSERT(store.remove(id));
        CPPUNIT_ASSERT(!store.show(id));
    }

    void priority_then_age_decide_the_claim_order() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        NewJob urgent = new_job("work", "urgent");
        urgent.options.priority = 5;
        store.enqueue_batch({new_job("work", "old"), new_job("work", "young"), urgent});
        std::vector<DurableJob> got = store.claim(2, kKinds, JobOwner::self(), std::chrono::seconds(30));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), got.size());
        std::set<std::string> picked = {got[0].payload, got[1].payload};
        CPPUNIT_ASSERT(picked == (std::set<std::string>{"urgent", "old"}));
    }

    // The claim of `first` runs out, rescue frees the job and `second` claims it: `first`
    // ending it late (done, failed or given back) must leave it to `second`.
    void a_former_owner_cannot_end_a_job_claimed_again() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        const JobOwner first = JobOwner::self();
        JobOwner second = JobOwner::self();
        second.host = "another-host";
        const std::int64_t id = store.enqueue_batch({new_job("work", "p")}).at(0).id;
        CPPUNIT_ASSERT_EQUAL(id, store.claim(1, kKinds, first, std::chrono::milliseconds(0)).at(0).id);
        std::size_t rescued = 0;
        CPPUNIT_ASSERT(testing_support::eventually([&] { return (rescued = store.rescue()) > 0; },
                                                   std::chrono::seconds(5)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), rescued);
        CPPUNIT_ASSERT_EQUAL(id, store.claim(1, kKinds, second, std::chrono::seconds(30)).at(0).id);

        CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.complete({id}, first));
        CPPUNIT_ASSERT(!store.fail(id, first, "late", std::chrono::milliseconds(0)));
        store.release(id, first);
        std::optional<StoredJob> row = store.show(id);
        CPPUNIT_ASSERT(row && row->state == StoredState::running);
        CPPUNIT_ASSERT(row->owner == second);
        CPPUNIT_ASSERT_EQUAL(1u, row->job.attempt);
        CPPUNIT_ASSERT_EQUAL(std::string(""), row->last_error);

        CPPUNIT_ASSERT_EQUAL(std::size_t(1), store.complete({id}, second));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), store.counts().left());
    }

    void complete_deletes_only_the_owners_jobs_of_a_batch() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        JobOwner other = JobOwner::self();
        other.host = "another-host";
        store.enqueue_batch({new_job("work", "a"), new_job("work", "b"), new_job("work", "c")});
        std::vector<DurableJob> mine = store.claim(2, kKinds, JobOwner::self(), std::chrono::seconds(30));
        std::vector<DurableJob> theirs = store.claim(1, kKinds, other, std::chrono::seconds(30));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), mine.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), theirs.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), store.complete({}, JobOwner::self()));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), store.complete({mine[0].id, theirs[0].id, mine[1].id}, JobOwner::self()));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), store.counts().running);
        CPPUNIT_ASSERT(store.show(theirs[0].id)->owner == other);
    }

    // A store may have no wake-ups at all; whatever it has ends with set_wakeup({}), and the
    // store still works without them (the caller owns what the callback touches).
    void no_wakeup_runs_once_it_is_stopped() {
        Backend backend;
        std::unique_ptr<JobStore> opened = backend.open();
        JobStore& store = *opened;
        std::atomic<int> wakes{0};
        store.set_wakeup([&wakes] { ++wakes; }, std::chrono::milliseconds(200));
        store.enqueue_batch({new_job("work", "heard or not")});
        store.set_wakeup({}, std::chrono::milliseconds(200));
        const int stopped_at = wakes.load();
        store.enqueue_batch({new_job("work", "after")});
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), store.counts().waiting);
        CPPUNIT_ASSERT_EQUAL(stopped_at, wakes.load());
    }
};

}  // namespace contract
}  // namespace fcgihost
