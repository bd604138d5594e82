// systemd's readiness protocol (sd_notify): with Type=notify, systemd counts the service
// as started once it says READY=1, and shows STATUS= lines in `systemctl status`.
// Without NOTIFY_SOCKET in the environment (anything but a Type=notify unit) every call
// does nothing. Messages are one datagram each; a failed send is ignored, since the
// service works the same without them.
#pragma once

#include <chrono>
#include <string>

namespace fcgihost {

class SystemdNotifier {
public:
    SystemdNotifier(const SystemdNotifier&) = delete;
    SystemdNotifier& operator=(const SystemdNotifier&) = delete;

    // Reads NOTIFY_SOCKET ("/path" or "@abstract") and removes it from the environment,
    // so that processes the application starts do not report for it. Construct it before
    // any thread starts: unsetenv() is not safe while another thread may call getenv().
    SystemdNotifier();
    ~SystemdNotifier();

    bool enabled() const { return fd_ >= 0; }
    // Sends `state`, e.g. "READY=1\nSTATUS=serving". Returns whether it was sent.
    bool notify(const std::string& state) const;
    // Waits (at most `limit`) until systemd has processed every message sent before
    // (sd_notify_barrier's protocol). Returns whether it confirmed that in time.
    bool barrier(std::chrono::milliseconds limit) const;
    // NOTIFY_SOCKET as it was in the environment ("" when not notifying), to hand to a
    // successor process.
    std::string address_for_environment() const;

private:
    int fd_ = -1;
    std::string address_;  // sun_path; a leading '\0' for an abstract socket
};

}  // namespace fcgihost
