// Every schedule's per-update losses against tests/runtime/golden_losses.txt: the values the
// runtime printed before the stage worker was split into a worker and backends (recorded with
// main's code at commit f9f4bb5). The schedule and update of every line must match exactly and each
// loss to 1e-5 relative: vectorised kernels (GELU's tanh, AdamW) moved the last bits of the losses
// (~1e-7 relative after 10 updates), never more; a wrong schedule or weight version moves them by
// far more than 1e-5. To re-record after an intended numerical change:
//   PACI_GOLDEN_RECORD=1 build/tests/runtime/runtime_golden_losses_test
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "exec/runtime/pipeline_trainer.h"
#include "proto/ir_names.h"
#include "sched/pipeline_spec.h"
#include "sched/schedule_generator.h"
#include "tiny_setup.h"

namespace paci::exec {
namespace {

constexpr int kUpdates = 10;

struct GoldenCase {
  ir::ScheduleKind kind;
  uint32_t stages, accum;
};

std::vector<GoldenCase> Cases() {
  std::vector<GoldenCase> cases;
  for (auto [P, K] : {std::pair{2u, 2u}, std::pair{4u, 4u}})
    for (ir::ScheduleKind kind : {ir::GPIPE, ir::ONE_F_ONE_B_FLUSH, ir::INTERLEAVED_1F1B, ir::ZB_H1,
                                  ir::PIPEDREAM, ir::PIPEDREAM_2BW, ir::PIPEMARE, ir::PACI})
      cases.push_back({kind, P, K});
  return cases;
}

// The schedule `paci train --schedule NAME --stages P --accum K --updates 10` builds.
ir::Schedule ScheduleOf(const GoldenCase& c) {
  const uint32_t K = c.kind == ir::PIPEDREAM ? 1 : c.accum;  // pipedream updates every micro-batch
  Result<ir::PipelineSpec> spec = SpecFor(c.kind, c.stages, K, uint64_t{kUpdates} * K);  // V = 2 interleaved
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  Result<ir::Schedule> s = GenerateSchedule(*spec);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return *s;
}

// 6 blocks so that interleaved 1F1B at P=4, V=2 has a slice per virtual stage.
TrainConfig GoldenConfig(const GoldenCase& c) {
  TrainConfig cfg = testing::TinyTrainConfig();
  cfg.model.n_layer = 6;
  cfg.accum = static_cast<int>(c.accum);
  cfg.updates = kUpdates;
  return cfg;
}

// One line per update: "NAME P=.. K=.. update U loss HEX", then "... val HEX".
std::vector<std::string> RunCase(const GoldenCase& c) {
  PipelineConfig pc;
  pc.train = GoldenConfig(c);
  Result<PipelineResult> r = TrainPipelineThreads(ScheduleOf(c), pc, testing::TinyCorpus(), nullptr);
  EXPECT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> lines;
  if (!r.ok()) return lines;
  const std::string name = fmt::format("{} P={} K={}", ScheduleName(c.kind), c.stages, c.accum);
  for (const ir::UpdateMetric& m : r->updates)
    lines.push_back(fmt::format("{} update {} loss {:a} ({:.9g})", name, m.update(), m.loss(), m.loss()));
  lines.push_back(fmt::format("{} val {:a} ({:.9g})", name, r->val_loss, r->val_loss));
  return lines;
}

constexpr double kRelTolerance = 1e-5;

// "NAME P=.. K=.. update U loss HEX (DEC)" or "NAME P=.. K=.. val HEX (DEC)": the label up to and
// with the keyword, and the loss read back from its exact hex form.
struct GoldenLine {
  std::string label;
  double value = 0.0;
};

GoldenLine ParseLine(const std::string& line) {
  size_t at = line.rfind(" loss ");
  size_t len = 6;
  if (at == std::string::npos) at = line.rfind(" val "), len = 5;
  if (at == std::string::npos) return {line, 0.0};
  return {line.substr(0, at + len), std::strtod(line.c_str() + at + len, nullptr)};
}

std::string GoldenPath() { return std::string(PACI_SOURCE_DIR) + "/tests/runtime/golden_losses.txt"; }

std::vector<std::string> ReadGolden() {
  std::ifstream in(GoldenPath());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  return lines;
}

TEST(GoldenLosses, EveryScheduleMatchesTheRecordedRun) {
  std::vector<std::string> got;
  for (const GoldenCase& c : Cases())
    for (std::string& l : RunCase(c)) got.push_back(std::move(l));
  if (std::getenv("PACI_GOLDEN_RECORD") != nullptr) {
    std::ofstream out(GoldenPath());
    out << "# Per-update training losses (hex float, then %.9g) of every schedule on the tiny GPT of\n"
           "# tests/runtime/tiny_setup.h with 6 blocks, seed 7, 10 updates, threads transport, one\n"
           "# kernel thread. Written by PACI_GOLDEN_RECORD=1 runtime_golden_losses_test.\n";
    for (const std::string& l : got) out << l << "\n";
    GTEST_SKIP() << "recorded " << got.size() << " lines in " << GoldenPath();
  }
  const std::vector<std::string> want = ReadGolden();
  ASSERT_FALSE(want.empty()) << "cannot read " << GoldenPath();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    const GoldenLine g = ParseLine(got[i]), w = ParseLine(want[i]);
    ASSERT_EQ(g.label, w.label) << "line " << i;
    EXPECT_NEAR(g.value, w.value, kRelTolerance * std::fabs(w.value)) << got[i] << "\n want " << want[i];
  }
}

}  // namespace
}  // namespace paci::exec
