#include "core/model.hpp"

#include <array>
#include <utility>

namespace sd {
namespace {

constexpr std::array<std::pair<AssetState, std::string_view>, 6> kAssetNames{{
    {AssetState::kDeclared, "Declared"},
    {AssetState::kUploading, "Uploading"},
    {AssetState::kProcessing, "Processing"},
    {AssetState::kActive, "Active"},
    {AssetState::kFailed, "Failed"},
    {AssetState::kExpired, "Expired"},
}};

constexpr std::array<std::pair<TaskState, std::string_view>, 10> kTaskNames{{
    {TaskState::kWaiting, "Waiting"},
    {TaskState::kReady, "Ready"},
    {TaskState::kSubmitting, "Submitting"},
    {TaskState::kSubmitted, "Submitted"},
    {TaskState::kCompleted, "Completed"},
    {TaskState::kDownloaded, "Downloaded"},
    {TaskState::kFailed, "Failed"},
    {TaskState::kBlocked, "Blocked"},
    {TaskState::kCancelled, "Cancelled"},
    {TaskState::kHeld, "Held"},
}};

template <class E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, n] : table) {
    if (v == e) return n;
  }
  return "?";
}

template <class E, size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view s) {
  for (const auto& [v, n] : table) {
    if (n == s) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(AssetState s) {
  return name_of(kAssetNames, s);
}
std::string_view to_string(TaskState s) {
  return name_of(kTaskNames, s);
}
std::optional<AssetState> asset_state_from_string(std::string_view s) {
  return value_of(kAssetNames, s);
}
std::optional<TaskState> task_state_from_string(std::string_view s) {
  return value_of(kTaskNames, s);
}

bool is_terminal(TaskState s) {
  switch (s) {
    case TaskState::kDownloaded:
    case TaskState::kFailed:
    case TaskState::kBlocked:
    case TaskState::kCancelled:
    case TaskState::kHeld:
      return true;
    default:
      return false;
  }
}

}  // namespace sd
