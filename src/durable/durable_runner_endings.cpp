// DurableRunner: what becomes of a job once its handler returned (its Ending), and how the
// store learns of it.
#include "durable/durable_runner.hpp"

#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>

#include <algorithm>
#include <random>

namespace fcgihost {
namespace durable {
namespace {

constexpr std::chrono::milliseconds kMaxBackoff{24LL * 3600 * 1000};

}  // namespace

void DurableRunner::run_one(const DurableJob& job) {
    const CancellationToken token = source_.token();
    Ending ending{job, Outcome::completed, "", {}};
    try {
        kinds_.at(job.kind)(job, token);
    } catch (const JobCancelled&) {
        ending.outcome = Outcome::released;  // it gave up: back to the store, no attempt used
    } catch (const std::exception& e) {
        ending.outcome = Outcome::failed;
        ending.error = e.what();
    } catch (...) {
        ending.outcome = Outcome::failed;
        ending.error = "unknown exception";
    }
    // Ending after the deadline cancelled it says nothing about the job: it runs again.
    if (token.cancelled()) ending.outcome = Outcome::released;
    if (ending.outcome == Outcome::failed) ending.retry_in = backoff(job.attempt);
    if (ending.outcome == Outcome::completed) {
        {
            // Raised before worker_main lowers running_: the drain always finds the job in one.
            boost::lock_guard<boost::mutex> lock(mutex_);
            ++completing_;
        }
        completer_->submit(job);
        return;
    }
    if (!record(ending)) {
        boost::lock_guard<boost::mutex> lock(mutex_);
        unrecorded_.push_back(ending);
    }
}

bool DurableRunner::record(const Ending& e) {
    const DurableJob& job = e.job;
    bool dead = false;
    try {
        if (e.outcome == Outcome::completed) store_->complete({job.id}, owner_);
        else if (e.outcome == Outcome::released) store_->release(job.id, owner_);
        else dead = store_->fail(job.id, owner_, e.error, e.retry_in);
    } catch (const std::exception& ex) {
        log_error("durable job ", job.kind, ":", job.id, ": cannot record its end in the store (", ex.what(),
                  "); trying again");
        return false;
    }
    if (e.outcome == Outcome::failed && dead) {
        log_error("durable job ", job.kind, ":", job.id, " dead after attempt ", job.attempt, ": ", e.error);
    } else if (e.outcome == Outcome::failed) {
        log_warn("durable job ", job.kind, ":", job.id, " attempt ", job.attempt, " failed: ", e.error, "; retry in ",
                 e.retry_in.count(), " ms");
    } else if (e.outcome == Outcome::released) {
        log_info("durable job ", job.kind, ":", job.id, " cancelled; back in the store for the next start");
    }
    boost::lock_guard<boost::mutex> lock(mutex_);
    if (e.outcome == Outcome::completed) ++counts_.completed;
    else if (e.outcome == Outcome::released) ++counts_.released;
    else if (dead) ++counts_.dead;
    else ++counts_.failed;
    return true;
}

void DurableRunner::completions_committed(const std::vector<DurableJob>& jobs, std::size_t ours) {
    if (ours < jobs.size()) {
        log_warn("durable jobs: ", jobs.size() - ours, " job(s) finished here after their claim ran out and was",
                 " taken over; their new owner ends them");
    }
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        counts_.completed += jobs.size();
        completing_ -= jobs.size();
    }
    state_changed_.notify_all();
}

void DurableRunner::completions_failed(const std::vector<DurableJob>& jobs, const std::string& message) {
    log_error("durable jobs: cannot record ", jobs.size(), " finished job(s) in the store (", message,
              "); trying again, and they run again if this process ends first");
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        for (const DurableJob& job : jobs) unrecorded_.push_back(Ending{job, Outcome::completed, "", {}});
        completing_ -= jobs.size();
    }
    state_changed_.notify_all();
}

std::chrono::milliseconds DurableRunner::backoff(unsigned failed_attempt) const {
    thread_local std::minstd_rand random{std::random_device{}()};
    const unsigned doublings = std::min(failed_attempt == 0 ? 0u : failed_attempt - 1, 30u);
    double delay = static_cast<double>(options_.retry_base.count()) * static_cast<double>(1ULL << doublings);
    delay = std::min(delay, static_cast<double>(kMaxBackoff.count()));
    // Jitter (+-25%) keeps jobs that failed together from retrying in lockstep.
    std::uniform_real_distribution<double> jitter(0.75, 1.25);
    return std::chrono::milliseconds(static_cast<long long>(delay * jitter(random)));
}

}  // namespace durable
}  // namespace fcgihost
