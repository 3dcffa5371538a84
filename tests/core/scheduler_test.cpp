#include "core/scheduler.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace sd {
namespace {

using std::chrono::seconds;

const TimePoint kT0 = from_millis(1'800'000'000'000);

TEST(Scheduler, HeadIsTheEarliestOpenEntry) {
  Scheduler s;
  Placement a, b, c;
  s.place(a, Slot::kTask, "create", Lane::kCreates, kT0);
  s.place(b, Slot::kAsset, "upload", Lane::kUploads, kT0 + seconds(1));
  s.place(c, Slot::kTask, "poll", Lane::kPolls, kT0 + seconds(2));
  ASSERT_NE(s.head(true, true), nullptr);
  EXPECT_EQ(s.head(true, true)->name, "create");
  EXPECT_EQ(s.head(true, false)->name, "upload");
  EXPECT_EQ(s.head(false, false)->name, "poll");
  s.remove(c, Slot::kTask, "poll");
  EXPECT_EQ(c.lane, Lane::kNone);
  EXPECT_EQ(s.head(false, false), nullptr);
}

TEST(Scheduler, PlaceMovesAnEntry) {
  Scheduler s;
  Placement p;
  s.place(p, Slot::kTask, "t", Lane::kPolls, kT0 + seconds(5));
  s.place(p, Slot::kTask, "t", Lane::kPolls, kT0 + seconds(1));
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.head(false, false)->at, kT0 + seconds(1));
  s.place(p, Slot::kTask, "t", Lane::kCreates, kT0);
  EXPECT_EQ(s.head(false, false), nullptr);
  EXPECT_EQ(s.head(false, true)->name, "t");
}

TEST(Scheduler, TiesBreakBySlotThenName) {
  Scheduler s;
  Placement a, b, c;
  s.place(a, Slot::kTask, "b", Lane::kPolls, kT0);
  s.place(b, Slot::kTask, "a", Lane::kPolls, kT0);
  s.place(c, Slot::kAsset, "z", Lane::kPolls, kT0);
  EXPECT_EQ(s.head(false, false)->name, "z");  // asset checks before task requests
  s.remove(c, Slot::kAsset, "z");
  EXPECT_EQ(s.head(false, false)->name, "a");
}

TEST(Scheduler, ListWaitersShareOneListEntry) {
  Scheduler s;
  Placement a, b, c;
  s.place(a, Slot::kAsset, "a", Lane::kListWait, kT0 + seconds(9));
  s.place(b, Slot::kAsset, "b", Lane::kListWait, kT0 + seconds(3));
  s.place(c, Slot::kAsset, "c", Lane::kListWait, kT0 + seconds(6));
  const DueEntry* h = s.head(false, false);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->slot, Slot::kList);
  EXPECT_EQ(h->at, kT0 + seconds(3));
  s.remove(b, Slot::kAsset, "b");
  EXPECT_EQ(s.head(false, false)->at, kT0 + seconds(6));

  const std::vector<std::string> members = s.start_list();
  EXPECT_EQ(members, (std::vector<std::string>{"c", "a"}));
  EXPECT_TRUE(s.list_in_flight());
  EXPECT_EQ(s.head(false, false), nullptr);
  // A new waiter while the list is in flight waits for the next list.
  Placement d;
  s.place(d, Slot::kAsset, "d", Lane::kListWait, kT0 + seconds(1));
  EXPECT_EQ(s.head(false, false), nullptr);
  s.finish_list();
  ASSERT_NE(s.head(false, false), nullptr);
  EXPECT_EQ(s.head(false, false)->slot, Slot::kList);
  EXPECT_EQ(s.head(false, false)->at, kT0 + seconds(1));
}

TEST(Scheduler, UploadRetriesHaveTheirOwnGate) {
  Scheduler s;
  Placement a, b;
  s.place(a, Slot::kAsset, "new", Lane::kUploads, kT0);
  s.place(b, Slot::kAsset, "retry", Lane::kUploadRetries, kT0 + seconds(1));
  EXPECT_EQ(s.head(false, true, false)->name, "retry");
  EXPECT_EQ(s.head(true, true, false)->name, "new");
  EXPECT_EQ(s.head(false, false, false), nullptr);
  EXPECT_EQ(s.first(Lane::kUploadRetries)->name, "retry");
}

}  // namespace
}  // namespace sd
