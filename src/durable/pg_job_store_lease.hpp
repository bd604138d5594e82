// PgJobStore::Lease, shared by the PgJobStore sources (src/durable/pg_job_store*.cpp).
#pragma once

#include "durable/pg_connection.hpp"
#include "durable/pg_job_store.hpp"
#include "durable/pg_reconnect.hpp"

#include <boost/thread/lock_guard.hpp>

#include <memory>
#include <vector>

namespace fcgihost {

// A connection out of the pool for the length of one call.
class PgJobStore::Lease {
public:
    explicit Lease(const PgJobStore& store) : store_(store) {
        {
            boost::lock_guard<boost::mutex> lock(store_.pool_mutex_);
            if (!store_.idle_.empty()) {
                connection_ = std::move(store_.idle_.back());
                store_.idle_.pop_back();
            }
        }
        if (connection_ && (connection_->broken() || connection_->idle_input_pending())) connection_.reset();
        if (!connection_) connection_ = store_.reconnect_->attempt();
    }
    ~Lease() {
        if (!connection_->abandoned().empty()) {
            // The server stopped answering: each idle connection would wait out the same
            // deadline, so they go too, and new ones back off as in any outage.
            std::vector<std::unique_ptr<durable::PgConnection>> stale;
            {
                boost::lock_guard<boost::mutex> lock(store_.pool_mutex_);
                stale.swap(store_.idle_);
            }
            store_.reconnect_->lost(connection_->abandoned());
            return;
        }
        // A connection the server dropped, or one left inside a transaction, is not reused.
        if (connection_->broken() || PQtransactionStatus(connection_->raw()) != PQTRANS_IDLE) return;
        store_.reconnect_->answered();
        boost::lock_guard<boost::mutex> lock(store_.pool_mutex_);
        store_.idle_.push_back(std::move(connection_));
    }
    durable::PgConnection& operator*() { return *connection_; }
    durable::PgConnection* operator->() { return connection_.get(); }

private:
    const PgJobStore& store_;
    std::unique_ptr<durable::PgConnection> connection_;
};

}  // namespace fcgihost
