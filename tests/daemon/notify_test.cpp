// Notifier: the sd_notify datagrams seen from systemd's side.
#include "daemon/notify.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "tests/daemon/notify_listener.hpp"
#include "tests/support/child_process.hpp"

namespace sd {
namespace {

using namespace std::chrono_literals;
using test::NotifyListener;

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(Notifier, SendsReadyStatusWatchdogStoppingToAbstractSocket) {
  NotifyListener listener;
  Notifier n(listener.name());
  ASSERT_TRUE(n.enabled());
  ASSERT_TRUE(n.ready());
  ASSERT_TRUE(n.status("3 assets active,\n1 tasks rendering"));
  ASSERT_TRUE(n.watchdog());
  ASSERT_TRUE(n.stopping());
  EXPECT_EQ(listener.receive(1s), "READY=1");
  EXPECT_EQ(listener.receive(1s), "STATUS=3 assets active, 1 tasks rendering");
  EXPECT_EQ(listener.receive(1s), "WATCHDOG=1");
  EXPECT_EQ(listener.receive(1s), "STOPPING=1");
}

TEST(Notifier, SendsToPathSocket) {
  test::TempDir dir;
  NotifyListener listener(dir.file("notify.sock"));
  Notifier n(listener.name());
  ASSERT_TRUE(n.ready());
  EXPECT_EQ(listener.receive(1s), "READY=1");
}

TEST(Notifier, ReloadingCarriesMonotonicTimestamp) {
  NotifyListener listener;
  Notifier n(listener.name());
  ASSERT_TRUE(n.reloading());
  auto msg = listener.receive(1s);
  ASSERT_TRUE(msg);
  EXPECT_EQ(msg->rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u) << *msg;
  EXPECT_GT(std::stoll(msg->substr(msg->find('=', 12) + 1)), 0);
}

TEST(Notifier, IsANoOpWithoutNotifySocket) {
  ScopedEnv env("NOTIFY_SOCKET", nullptr);
  Notifier n = Notifier::from_env();
  EXPECT_FALSE(n.enabled());
  EXPECT_TRUE(n.ready());
  EXPECT_TRUE(n.status("x"));
}

TEST(Notifier, ReportsAnUnreachableSocket) {
  Notifier n("@seedanced-test-nobody-listens-" + std::to_string(getpid()));
  EXPECT_FALSE(n.ready());
  Notifier relative("relative/path");
  EXPECT_FALSE(relative.ready());
}

TEST(Notifier, ReadsSocketAndWatchdogFromEnvironment) {
  NotifyListener listener;
  ScopedEnv sock("NOTIFY_SOCKET", listener.name().c_str());
  ScopedEnv usec("WATCHDOG_USEC", "200000");
  {
    ScopedEnv pid("WATCHDOG_PID", nullptr);
    Notifier n = Notifier::from_env();
    ASSERT_TRUE(n.watchdog_timeout());
    EXPECT_EQ(*n.watchdog_timeout(), 200ms);
    EXPECT_EQ(n.watchdog_ping_interval(), 100ms);
    ASSERT_TRUE(n.watchdog());
    EXPECT_EQ(listener.receive(1s), "WATCHDOG=1");
  }
  {
    const std::string me = std::to_string(getpid());
    ScopedEnv pid("WATCHDOG_PID", me.c_str());
    EXPECT_TRUE(Notifier::from_env().watchdog_timeout());
  }
  {
    ScopedEnv pid("WATCHDOG_PID", "1");  // the watchdog is meant for another process
    EXPECT_FALSE(Notifier::from_env().watchdog_timeout());
  }
  {
    ScopedEnv bad("WATCHDOG_USEC", "soon");
    EXPECT_FALSE(Notifier::from_env().watchdog_timeout());
  }
}

}  // namespace
}  // namespace sd
