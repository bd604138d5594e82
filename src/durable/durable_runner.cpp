#include "durable/durable_runner.hpp"

#include "base/steady_wait.hpp"
#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>

#include <algorithm>

namespace fcgihost {
namespace durable {
namespace {

using Clock = std::chrono::steady_clock;

// How soon jobs enqueued by other processes sharing the store are seen.
constexpr std::chrono::milliseconds kPollInterval{200};
constexpr std::chrono::milliseconds kMaintenanceInterval{1000};

}  // namespace

DurableRunner::DurableRunner(std::unique_ptr<JobStore> store, DurableOptions options, unsigned workers,
                             std::size_t enqueue_capacity, detail::WorkerScheduling scheduling)
    : store_(std::move(store)),
      options_(std::move(options)),
      workers_count_(workers),
      owner_(JobOwner::self()),
      scheduler_(scheduling) {
    batcher_ = std::make_unique<EnqueueBatcher>(*store_, enqueue_capacity, [this] {
        {
            boost::lock_guard<boost::mutex> lock(mutex_);
            wake_ = true;
            nothing_due_ = false;
        }
        dispatcher_wake_.notify_one();
    });
    completer_ = std::make_unique<CompletionBatcher>(
        *store_, owner_, [this](const std::vector<DurableJob>& jobs, std::size_t ours) { completions_committed(jobs, ours); },
        [this](const std::vector<DurableJob>& jobs, const std::string& message) { completions_failed(jobs, message); });
}

DurableRunner::~DurableRunner() {
    store_->set_wakeup({}, kPollInterval);  // its thread calls into this object
    batcher_.reset();  // commits what request threads handed over before it stops
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        closed_ = true;
        exit_ = true;
    }
    source_.cancel();
    work_ready_.notify_all();
    dispatcher_wake_.notify_all();
    if (dispatcher_.joinable()) dispatcher_.join();
    workers_.join_all();
    completer_.reset();  // commits the jobs the workers finished
    for (const DurableJob& job : ready_) record(Ending{job, Outcome::released, "", {}});
}

void DurableRunner::add_kind(const std::string& kind, DurableHandler handler) {
    if (kinds_.emplace(kind, std::move(handler)).second) kind_names_.push_back(kind);
}

void DurableRunner::start() {
    if (workers_count_ > 0) {
        scheduler_.start();  // before the workers, which use it
        // Another process's enqueue: look at once instead of at the next poll.
        store_->set_wakeup(
            [this] {
                {
                    boost::lock_guard<boost::mutex> lock(mutex_);
                    wake_ = true;
                    nothing_due_ = false;
                }
                dispatcher_wake_.notify_one();
            },
            kPollInterval);
    }
    dispatcher_ = boost::thread([this] { dispatcher_main(); });
    for (unsigned i = 0; i < workers_count_; ++i) workers_.create_thread([this] { worker_main(); });
}

EnqueueResult DurableRunner::enqueue(const std::string& kind, std::string payload, const EnqueueOptions& options) {
    EnqueueResult refused;
    if (kinds_.find(kind) == kinds_.end()) {
        refused.status = EnqueueStatus::unknown_kind;
    } else if (payload.size() > kMaxDurablePayload) {
        refused.status = EnqueueStatus::too_large;
    } else {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (closed_) refused.status = EnqueueStatus::stopping;
    }
    if (refused.status != EnqueueStatus::store_error) {
        log_warn("durable job ", kind, " refused: ", to_string(refused.status), " (", payload.size(), " bytes)");
        return refused;
    }
    NewJob job{kind, std::move(payload), options};
    if (job.options.max_attempts == 0) job.options.max_attempts = options_.max_attempts;
    EnqueueResult result = batcher_->submit(std::move(job));
    if (result.status == EnqueueStatus::store_error) {
        log_error("durable job ", kind, " refused: ", result.message);
    } else if (result.status == EnqueueStatus::full) {
        log_warn("durable job ", kind, " refused: too many enqueues waiting for the store");
    }
    return result;
}

RunCounts DurableRunner::run_counts() const {
    boost::lock_guard<boost::mutex> lock(mutex_);
    return counts_;
}

void DurableRunner::dispatcher_main() {
    Clock::time_point next_maintenance = Clock::now();
    Clock::time_point next_look = Clock::now();
    bool looking_fails = false;
    boost::unique_lock<boost::mutex> lock(mutex_);
    while (!exit_) {
        const Clock::time_point now = Clock::now();
        if (now >= next_maintenance) {
            lock.unlock();
            maintain();
            lock.lock();
            next_maintenance = now + kMaintenanceInterval;
            continue;
        }
        const std::size_t busy = running_ + ready_.size();
        const std::size_t slots = stop_claiming_ || busy >= workers_count_ ? 0 : workers_count_ - busy;
        if (slots > 0 && (wake_ || now >= next_look)) {
            wake_ = false;
            lock.unlock();
            std::optional<std::int64_t> due;
            std::vector<DurableJob> claimed;
            try {
                due = store_->next_due(kind_names_);
                if (due && *due <= unix_ms_now()) claimed = store_->claim(slots, kind_names_, owner_, options_.lease);
                looking_fails = false;
            } catch (const std::exception& e) {
                // One line per outage: the next look is a poll interval away, and so on.
                if (!looking_fails) log_warn("durable jobs: cannot look for due jobs: ", e.what());
                looking_fails = true;
            }
            next_look = Clock::now() + kPollInterval;
            const std::int64_t ms_to_due = due ? *due - unix_ms_now() : kPollInterval.count();
            if (ms_to_due > 0 && ms_to_due < kPollInterval.count()) {
                next_look = Clock::now() + std::chrono::milliseconds(ms_to_due);
            }
            lock.lock();
            if (stop_claiming_) {
                // cancel() ran while this claim was under way: these must go back, unstarted.
                lock.unlock();
                for (const DurableJob& job : claimed) record(Ending{job, Outcome::released, "", {}});
                lock.lock();
                continue;
            }
            for (const DurableJob& job : claimed) ready_.push_back(job);
            nothing_due_ = claimed.size() < slots && !wake_;
            if (!claimed.empty()) work_ready_.notify_all();
            state_changed_.notify_all();
            continue;
        }
        detail::wait_until(dispatcher_wake_, lock, slots > 0 && !wake_ ? std::min(next_look, next_maintenance) : next_maintenance);
    }
}

void DurableRunner::maintain() {
    std::vector<Ending> retry;
    bool renew = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        retry.swap(unrecorded_);
        renew = running_ > 0 || !ready_.empty() || completing_ > 0 || !retry.empty();
    }
    std::vector<Ending> still;
    for (const Ending& ending : retry) {
        if (!record(ending)) still.push_back(ending);
    }
    std::size_t rescued = 0;
    try {
        if (renew) store_->renew(owner_, options_.lease);
        rescued = store_->rescue();
        maintenance_fails_ = false;
    } catch (const std::exception& e) {
        if (!maintenance_fails_) log_warn("durable jobs: store maintenance failed: ", e.what());
        maintenance_fails_ = true;
    }
    if (rescued > 0) log_info("durable jobs: ", rescued, " job(s) of a dead or silent owner are waiting again");
    boost::lock_guard<boost::mutex> lock(mutex_);
    unrecorded_.insert(unrecorded_.end(), still.begin(), still.end());
    if (rescued > 0) {
        wake_ = true;
        nothing_due_ = false;
    }
}

void DurableRunner::worker_main() {
    const detail::WorkerScheduler::Slot slot = scheduler_.enter();
    boost::unique_lock<boost::mutex> lock(mutex_);
    for (;;) {
        while (ready_.empty() && !exit_) work_ready_.wait(lock);
        if (exit_) break;
        DurableJob job = std::move(ready_.front());
        ready_.pop_front();
        ++running_;
        lock.unlock();
        scheduler_.job_started(slot);
        run_one(job);
        scheduler_.job_ended(slot);
        lock.lock();
        --running_;
        wake_ = true;
        nothing_due_ = false;
        dispatcher_wake_.notify_one();
        state_changed_.notify_all();
    }
    lock.unlock();
    scheduler_.leave(slot);
}

}  // namespace durable
}  // namespace fcgihost
