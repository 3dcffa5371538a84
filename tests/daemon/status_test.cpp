// status_line: the one-line STATUS= summary.
#include <gtest/gtest.h>

#include "daemon/daemon.hpp"

namespace sd {
namespace {

TEST(StatusLine, CountsActiveAssetsRenderingAndDownloadedTasks) {
  Summary s;
  s.assets[AssetState::kActive] = 12;
  s.assets[AssetState::kProcessing] = 2;
  s.tasks[TaskState::kSubmitted] = 2;
  s.tasks[TaskState::kSubmitting] = 1;
  s.tasks[TaskState::kDownloaded] = 40;
  EXPECT_EQ(status_line(s), "12 assets active, 3 tasks rendering, 40 downloaded");
}

TEST(StatusLine, MentionsQueuedFailedAndHeldOnlyWhenPresent) {
  Summary s;
  s.tasks[TaskState::kWaiting] = 2;
  s.tasks[TaskState::kReady] = 1;
  s.tasks[TaskState::kFailed] = 1;
  s.tasks[TaskState::kBlocked] = 1;
  s.tasks[TaskState::kHeld] = 1;
  EXPECT_EQ(status_line(s),
            "0 assets active, 0 tasks rendering, 0 downloaded, 3 queued, 2 failed, 1 held");
}

}  // namespace
}  // namespace sd
