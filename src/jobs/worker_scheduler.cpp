#include "jobs/worker_scheduler.hpp"

#include "base/steady_wait.hpp"
#include "fcgihost/log.hpp"

#include <boost/thread/lock_guard.hpp>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <time.h>

namespace fcgihost {
namespace detail {
namespace {

pid_t current_tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// -1 if the clock cannot be read.
std::int64_t cpu_ns(clockid_t clock) {
    timespec now{};
    if (clock_gettime(clock, &now) != 0) return -1;
    return static_cast<std::int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

// Linux applies nice per thread when given the thread id. The result, clamped at 19.
int add_nice(pid_t tid, int increment) {
    const int base = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
    if (increment != 0) setpriority(PRIO_PROCESS, static_cast<id_t>(tid), base + increment);
    return std::min(base + increment, 19);
}

bool set_class(pid_t tid, int policy) {
    sched_param param{};
    return sched_setscheduler(tid, policy, &param) == 0;
}

// Leaving SCHED_IDLE is what the kernel may refuse (EPERM without CAP_SYS_NICE when
// RLIMIT_NICE does not cover the thread's nice value): asked of a thread of its own, with
// the nice value and credentials the workers will have, so that a refusal strands nobody.
bool can_leave_idle(int nice_increment, int& worker_nice) {
    bool ok = false;
    boost::thread probe([&] {
        const pid_t tid = current_tid();
        worker_nice = add_nice(tid, nice_increment);
        ok = set_class(tid, SCHED_IDLE) && set_class(tid, SCHED_BATCH);
    });
    probe.join();
    return ok;
}

}  // namespace

WorkerScheduler::WorkerScheduler(WorkerScheduling scheduling) : scheduling_(scheduling) {}

WorkerScheduler::~WorkerScheduler() {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (supervisor_.joinable()) supervisor_.join();
}

void WorkerScheduler::start() {
    if (scheduling_.policy != WorkerPolicy::adaptive) return;
    int worker_nice = 0;
    demotes_ = can_leave_idle(scheduling_.nice, worker_nice);
    if (!demotes_) {
        log_warn("--worker-policy adaptive: this process may not move a thread back from SCHED_IDLE (that takes "
                 "CAP_SYS_NICE, or RLIMIT_NICE of at least ", 20 - worker_nice, ": LimitNICE=+", worker_nice,
                 " under systemd, ulimit -e ", 20 - worker_nice, " in a shell); workers stay at SCHED_BATCH");
        return;
    }
    supervisor_ = boost::thread([this] { supervisor_main(); });
}

WorkerScheduler::Slot WorkerScheduler::enter() {
    // Under SCHED_BATCH a worker that wakes (a new job, the end of a sleep) does not preempt
    // the request thread that woke it: about 10% more /work throughput in an interleaved A/B
    // run behind nginx.
    const pid_t tid = current_tid();
    add_nice(tid, scheduling_.nice);
    bool applied = true;
    switch (scheduling_.policy) {
        case WorkerPolicy::normal: break;
        case WorkerPolicy::batch:
        case WorkerPolicy::adaptive: applied = set_class(tid, SCHED_BATCH); break;
        case WorkerPolicy::idle: applied = set_class(tid, SCHED_IDLE); break;
    }
    if (!applied) report_refusal("its scheduling policy", errno);
    Worker worker;
    worker.tid = tid;
    // Without it (it does not fail for a live thread), looks go by the wall.
    worker.has_cpu_clock = pthread_getcpuclockid(pthread_self(), &worker.cpu_clock) == 0;
    boost::lock_guard<boost::mutex> lock(mutex_);
    workers_.push_back(worker);
    return workers_.size() - 1;
}

void WorkerScheduler::job_started(Slot slot) {
    if (!demotes_) return;
    // The thread's CPU clock is a system call, as dear as a short job: a worker running
    // many reads it at most once a millisecond of the wall. The baseline is then up to that
    // much earlier than the job's start, so a job may be demoted up to 1 ms of CPU early.
    thread_local std::int64_t cpu_base = -1;
    thread_local Clock::time_point cpu_base_at;
    const Clock::time_point now = Clock::now();
    if (cpu_base < 0 || now - cpu_base_at >= std::chrono::milliseconds(1)) {
        cpu_base = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
        cpu_base_at = now;
    }
    bool earlier = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        Worker& worker = workers_[slot];
        worker.started = now;
        worker.cpu_at_start = cpu_base;
        worker.look_at = worker.started + scheduling_.demote_after;
        // First looks come in start order, so this wakes the supervisor only when it sleeps
        // with nothing to wait for.
        if (worker.look_at < wakes_at_) {
            wakes_at_ = worker.look_at;
            earlier = true;
        }
    }
    if (earlier) wake_.notify_one();
}

void WorkerScheduler::job_ended(Slot slot) {
    if (!demotes_) return;
    bool demoted = false;
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        Worker& worker = workers_[slot];
        worker.look_at = Clock::time_point::max();
        demoted = worker.demoted;
        worker.demoted = false;
    }
    // No deadline is left for the supervisor to act on, so this cannot be undone before
    // the next job starts.
    if (demoted && !set_class(current_tid(), SCHED_BATCH)) report_refusal("SCHED_BATCH after a demoted job", errno);
}

void WorkerScheduler::leave(Slot slot) {
    boost::lock_guard<boost::mutex> lock(mutex_);
    workers_[slot].tid = 0;
    workers_[slot].look_at = Clock::time_point::max();
}

void WorkerScheduler::report_refusal(const char* what, int error) {
    {
        boost::lock_guard<boost::mutex> lock(mutex_);
        if (refusal_reported_) return;
        refusal_reported_ = true;
    }
    log_warn("a worker thread could not be given ", what, " (", std::strerror(error),
             "); it runs on as it was (reported once)");
}

std::chrono::nanoseconds WorkerScheduler::cpu_left(const Worker& worker) const {
    const std::int64_t now = worker.has_cpu_clock ? cpu_ns(worker.cpu_clock) : -1;
    if (now < 0 || worker.cpu_at_start < 0) return std::chrono::nanoseconds(0);  // by the wall, then
    return std::chrono::nanoseconds(scheduling_.demote_after) - std::chrono::nanoseconds(now - worker.cpu_at_start);
}

void WorkerScheduler::supervisor_main() {
    boost::unique_lock<boost::mutex> lock(mutex_);
    while (!stop_) {
        const Clock::time_point now = Clock::now();
        Clock::time_point next = Clock::time_point::max();
        int refused = 0;  // errno of a refused demotion
        for (Worker& worker : workers_) {
            if (worker.tid == 0 || worker.look_at == Clock::time_point::max()) continue;
            if (worker.look_at > now) {
                next = std::min(next, worker.look_at);
                continue;
            }
            // Under mutex_: the job cannot end, nor the thread exit, until this returns.
            const std::chrono::nanoseconds left = cpu_left(worker);
            if (left.count() > 0) {
                const auto age = now - worker.started;
                worker.look_at = now + std::max<Clock::duration>(left, age / 4);
                next = std::min(next, worker.look_at);
                continue;
            }
            worker.look_at = Clock::time_point::max();
            if (set_class(worker.tid, SCHED_IDLE)) worker.demoted = true;
            else refused = errno;
        }
        if (refused) {
            lock.unlock();  // the log line is written outside the lock
            report_refusal("SCHED_IDLE", refused);
            lock.lock();
            continue;
        }
        wakes_at_ = next;
        if (next == Clock::time_point::max()) {
            wake_.wait(lock);
        } else {
            wait_until(wake_, lock, next);
        }
    }
}

}  // namespace detail
}  // namespace fcgihost
