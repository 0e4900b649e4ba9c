// libFuzzer target: the binary protobuf schedule form (sched/schedule_io.h), then the validator.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sched/schedule_io.h"
#include "sched/schedule_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  paci::Result<paci::ir::Schedule> schedule = paci::ScheduleFromBinary(bytes, "fuzz.pb");
  if (schedule.ok()) (void)paci::ValidateSchedule(*schedule);
  return 0;
}
