// BatchWriter (src/durable/batch_writer.hpp): the group-commit mechanism of both batchers,
// with a write function a test can hold while it hands more items over.
#include "durable/batch_writer.hpp"

#include "integration/demo_process.hpp"

#include <cppunit/extensions/HelperMacros.h>

#include <condition_variable>
#include <mutex>

using fcgihost::durable::BatchWriter;
using fcgihost::testing_support::eventually;

namespace {

// Records each batch; while held, the writer waits inside write() with its batch taken.
class Recorder {
public:
    BatchWriter<int>::Write write() {
        return [this](std::vector<int>& batch) {
            std::unique_lock<std::mutex> lock(mutex_);
            ++writing_;
            changed_.wait(lock, [&] { return !held_; });
            batches_.push_back(batch.size());
            items_ += batch.size();
        };
    }
    void hold(bool on) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            held_ = on;
        }
        changed_.notify_all();
    }
    std::size_t writing() {
        std::lock_guard<std::mutex> lock(mutex_);
        return writing_;
    }
    std::size_t items() {
        std::lock_guard<std::mutex> lock(mutex_);
        return items_;
    }
    std::vector<std::size_t> batches() {
        std::lock_guard<std::mutex> lock(mutex_);
        return batches_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool held_ = false;                 // guarded by mutex_
    std::size_t writing_ = 0;           // write() calls begun; guarded by mutex_
    std::size_t items_ = 0;             // guarded by mutex_
    std::vector<std::size_t> batches_;  // sizes, in order; guarded by mutex_
};

// Lets a held writer go at the end of a scope, also when an assertion throws.
struct Release {
    Recorder& recorder;
    ~Release() { recorder.hold(false); }
};

}  // namespace

class BatchWriterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BatchWriterTest);
    CPPUNIT_TEST(items_handed_over_during_a_write_go_in_the_next_batch_bounded);
    CPPUNIT_TEST(a_push_past_the_limit_is_refused_while_the_writer_is_busy);
    CPPUNIT_TEST(destruction_writes_what_was_handed_over);
    CPPUNIT_TEST_SUITE_END();

public:
    void items_handed_over_during_a_write_go_in_the_next_batch_bounded() {
        Recorder recorder;
        recorder.hold(true);
        {
            BatchWriter<int> writer(recorder.write());
            Release release{recorder};
            CPPUNIT_ASSERT(writer.push(0));
            CPPUNIT_ASSERT(eventually([&] { return recorder.writing() == 1; }, std::chrono::seconds(10)));
            for (int i = 1; i <= 1300; ++i) CPPUNIT_ASSERT(writer.push(i));
        }
        // One batch while held, then at most 512 a transaction.
        CPPUNIT_ASSERT(recorder.batches() == (std::vector<std::size_t>{1, 512, 512, 276}));
    }

    void a_push_past_the_limit_is_refused_while_the_writer_is_busy() {
        Recorder recorder;
        recorder.hold(true);
        {
            BatchWriter<int> writer(recorder.write());
            Release release{recorder};
            CPPUNIT_ASSERT(writer.push(0, 3));
            CPPUNIT_ASSERT(eventually([&] { return recorder.writing() == 1; }, std::chrono::seconds(10)));
            for (int i = 1; i <= 3; ++i) CPPUNIT_ASSERT(writer.push(i, 3));
            CPPUNIT_ASSERT(!writer.push(4, 3));
            recorder.hold(false);
            CPPUNIT_ASSERT(eventually([&] { return recorder.items() == 4; }, std::chrono::seconds(10)));
            CPPUNIT_ASSERT(writer.push(5, 3));  // room again once the writer took them
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), recorder.items());
    }

    void destruction_writes_what_was_handed_over() {
        Recorder recorder;
        {
            BatchWriter<int> writer(recorder.write());
            for (int i = 0; i < 100; ++i) writer.push(i);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(100), recorder.items());
    }
};

CPPUNIT_TEST_SUITE_NAMED_REGISTRATION(BatchWriterTest, "unit");
