// PgClaimLedger: which running rows this process's PgJobStore handed out, so that a claim
// whose answer was lost can be undone.
//
// A claim is one autocommit statement. If the connection drops after the server committed
// it but before the answer arrived, its rows are running under this process and nobody
// knows their ids; renew() would extend their lease for as long as the process lives. So a
// claim that fails on a broken connection is "in doubt", and the next rescue() frees every
// row running under this process that the ledger does not hold. That must not race a claim
// in flight (its rows are not in the ledger yet): a recovery starts only when no claim is
// in flight, and claims start none while it runs (they return nothing; the next poll
// claims).
#pragma once

#include <boost/thread/mutex.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <vector>

namespace fcgihost {
namespace durable {

class PgClaimLedger {
public:
    bool begin_claim();  // false while a recovery runs: claim nothing now
    // After begin_claim(): the ids handed out (on success), or in_doubt if the connection
    // broke under the statement.
    void end_claim(const std::vector<std::int64_t>& ids, bool in_doubt);
    void ended(std::int64_t id);  // the row's end was recorded: no longer held

    // If a claim was in doubt and none is in flight: the held ids, and claims pause until
    // end_recovery(). Else nothing.
    std::optional<std::vector<std::int64_t>> begin_recovery();
    void end_recovery(bool done);  // done: the doubt is settled

private:
    boost::mutex mutex_;
    std::set<std::int64_t> held_;  // guarded by mutex_; claimed here, end not yet recorded
    unsigned claims_in_flight_ = 0;  // guarded by mutex_
    bool in_doubt_ = false;          // guarded by mutex_
    bool recovering_ = false;        // guarded by mutex_
};

}  // namespace durable
}  // namespace fcgihost
