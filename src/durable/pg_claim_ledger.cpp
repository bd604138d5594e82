#include "durable/pg_claim_ledger.hpp"

#include <boost/thread/lock_guard.hpp>

namespace fcgihost {
namespace durable {

bool PgClaimLedger::begin_claim() {
    boost::lock_guard<boost::mutex> lock(mutex_);
    if (recovering_) return false;
    ++claims_in_flight_;
    return true;
}

void PgClaimLedger::end_claim(const std::vector<std::int64_t>& ids, bool in_doubt) {
    boost::lock_guard<boost::mutex> lock(mutex_);
    --claims_in_flight_;
    held_.insert(ids.begin(), ids.end());
    if (in_doubt) in_doubt_ = true;
}

void PgClaimLedger::ended(std::int64_t id) {
    boost::lock_guard<boost::mutex> lock(mutex_);
    held_.erase(id);
}

std::optional<std::vector<std::int64_t>> PgClaimLedger::begin_recovery() {
    boost::lock_guard<boost::mutex> lock(mutex_);
    if (!in_doubt_ || claims_in_flight_ > 0 || recovering_) return std::nullopt;
    recovering_ = true;
    return std::vector<std::int64_t>(held_.begin(), held_.end());
}

void PgClaimLedger::end_recovery(bool done) {
    boost::lock_guard<boost::mutex> lock(mutex_);
    recovering_ = false;
    if (done) in_doubt_ = false;
}

}  // namespace durable
}  // namespace fcgihost
