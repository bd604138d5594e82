// DrainParticipant: work other than the JobQueue that the shutdown sequence drains with
// the same steps and the same deadline (durable jobs). The sequence calls, in order:
// request_stop(), close(), wait_idle_until(deadline, drain step), and past the deadline
// cancel(), wait_idle_until(grace end, grace step), finished(); summary() goes at the end of its summary line.
// Work a participant leaves behind must not be lost (it is stored): it does not change
// the exit status, only finished() false makes the process leave with _exit().
#pragma once

#include "jobs/job_queue.hpp"

#include <chrono>
#include <string>

namespace fcgihost {

class DrainParticipant {
public:
    virtual ~DrainParticipant() = default;
    virtual void request_stop() = 0;
    virtual void close() = 0;
    // As JobQueue's: `step` is the drain step the wait belongs to, and a skip recorded
    // through that step (interrupt_wait) ends it, whether it came before the wait or during.
    virtual WaitResult wait_idle_until(std::chrono::steady_clock::time_point deadline, unsigned step) = 0;
    virtual void interrupt_wait(unsigned through_step) = 0;
    virtual void cancel() = 0;
    virtual bool finished() = 0;  // no job of its own still running
    virtual std::string summary() = 0;  // " name=value..." for the summary line
};

}  // namespace fcgihost
