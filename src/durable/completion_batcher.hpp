// CompletionBatcher: group commit for jobs that ended well. A worker hands its finished job
// over and goes on to the next; one writer thread takes every job handed over by then and
// deletes them in one transaction (JobStore::complete), so N workers finishing together
// cost one write and one turn on the store's write lock instead of N.
//
// A job handed over is not yet recorded: until its batch commits, its row stays running
// under this process. If the process dies in between, the job runs again (at least once).
// The caller counts a job completed only from on_commit, after the commit.
#pragma once

#include "durable/batch_writer.hpp"
#include "durable/job_store.hpp"

#include <functional>

namespace fcgihost {
namespace durable {

class CompletionBatcher {
public:
    CompletionBatcher(const CompletionBatcher&) = delete;
    CompletionBatcher& operator=(const CompletionBatcher&) = delete;

    // After each batch, on the writer thread: on_commit(jobs, ours) once it committed (`ours`
    // of them were still running under `owner`; the rest had been rescued and belong to
    // another claim), or on_error(jobs, message) if the transaction failed: then none of
    // them is recorded. Neither may throw.
    using Committed = std::function<void(const std::vector<DurableJob>& jobs, std::size_t ours)>;
    using Failed = std::function<void(const std::vector<DurableJob>& jobs, const std::string& message)>;
    CompletionBatcher(JobStore& store, JobOwner owner, Committed on_commit, Failed on_error);
    // The destructor commits what was handed over, then joins the writer.

    void submit(DurableJob job);  // never waits for the store

private:
    void write(std::vector<DurableJob>& batch);

    JobStore& store_;
    const JobOwner owner_;
    const Committed on_commit_;
    const Failed on_error_;
    BatchWriter<DurableJob> writer_;  // last: its thread calls write() at once
};

}  // namespace durable
}  // namespace fcgihost
