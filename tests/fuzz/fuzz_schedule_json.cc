// libFuzzer target: the protobuf-JSON schedule form (sched/schedule_io.h), then the validator.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sched/schedule_io.h"
#include "sched/schedule_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  paci::Result<paci::ir::Schedule> schedule = paci::ScheduleFromJson(json, "fuzz.json");
  if (schedule.ok()) (void)paci::ValidateSchedule(*schedule);
  return 0;
}
