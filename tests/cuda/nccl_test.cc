// NCCL transport check, one MPI rank per GPU: `mpirun -np 2 cuda_nccl_test` on a machine with two
// GPUs sends activations downstream and a gradient upstream through the host API (keys received
// out of order), then both directions at once in one exchange through the device API, and checks
// every float; then trains a tiny
// GPT with 1F1B and PACI in rank mode (the stage worker on the CUDA backend, one stage per rank,
// messages device to device over NCCL) and checks that the last rank's losses equal one-GPU mode's
// (every stage as a thread on its own GPU). With one rank it only builds the
// communicator. Exit codes: 0 pass, 1 fail, 77 skipped (no GPU, or fewer GPUs than ranks).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "exec/cuda/cuda_backend.h"
#include "exec/cuda/nccl_transport.h"
#include "sched/schedule_generator.h"
#include "tests/runtime/tiny_setup.h"

using namespace paci;
using namespace paci::exec;

namespace {

std::vector<float> Pattern(size_t n, float base) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; i++) v[i] = base + static_cast<float>(i % 1000) * 0.5f;
  return v;
}

// Trains `kind` on P = ranks stages in rank mode and, on the last rank, compares its losses with
// one-GPU mode on the same GPU (same kernels; 1e-4, as the embedding gradient uses atomics).
int RankModeMatchesOneGpu(NcclTransport* t, ir::ScheduleKind kind, int rank);

int Check(bool ok, const char* what, int rank) {
  std::printf("rank %d: %-48s %s\n", rank, what, ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

int RankModeMatchesOneGpu(NcclTransport* t, ir::ScheduleKind kind, int rank) {
  const uint32_t P = t->stages();
  ir::PipelineSpec spec;
  spec.set_kind(kind);
  spec.set_stages(P);
  if (kind == ir::PACI)
    spec.set_accum(2);
  else
    spec.set_microbatches_per_iteration(4);
  spec.set_total_microbatches(16);
  Result<ir::Schedule> schedule = GenerateSchedule(spec);
  if (!schedule.ok()) return Check(false, "schedule", rank);
  PipelineConfig pc;
  pc.train = testing::TinyTrainConfig();
  pc.backend = CudaBackendFactory(ir::PRECISION_FP32);
  const DataSplit data = testing::TinyCorpus();
  Result<PipelineResult> r = TrainPipelineStage(*schedule, pc, data, *t, nullptr);
  if (!r.ok()) return Check(false, r.status().ToString().c_str(), rank);
  if (static_cast<uint32_t>(rank) != P - 1) return Check(true, "rank mode run", rank);
  Result<PipelineResult> o = TrainPipelineThreads(*schedule, pc, data, nullptr);
  if (!o.ok()) return Check(false, o.status().ToString().c_str(), rank);
  bool same = !o->updates.empty() && o->updates.size() == r->updates.size();
  for (size_t u = 0; same && u < o->updates.size(); u++) {
    std::printf("rank %d: %s update %zu: loss rank mode %.6f one-GPU %.6f\n", rank,
                ir::ScheduleKind_Name(kind).c_str(), u + 1, r->updates[u].loss(), o->updates[u].loss());
    same = std::fabs(r->updates[u].loss() - o->updates[u].loss()) <= 1e-4;
  }
  return Check(same, "rank mode losses equal one-GPU mode", rank);
}

}  // namespace

int main(int argc, char** argv) {
  MpiSession session(&argc, &argv);
  const int rank = session.rank();
  const CudaDeviceProbe probe = cuda_probe_devices();
  if (probe.count == 0 && !probe.absent()) {  // a driver problem hides a GPU: fail, do not skip
    std::printf("rank %d: FAILED: %s\n", rank, probe.message.c_str());
    return 1;
  }
  const int ndev = probe.count;
  if (ndev == 0 || (session.size() > 1 && ndev < session.size() && ndev < 2)) {
    std::printf("rank %d: SKIPPED: %d CUDA device(s) for %d rank(s)\n", rank, ndev, session.size());
    return 77;
  }
  Result<std::unique_ptr<NcclTransport>> t = NcclTransport::Create(session);
  if (!t.ok()) {
    std::printf("rank %d: create failed: %s\n", rank, t.status().ToString().c_str());
    return 1;
  }
  int failures = Check(true, "communicators created", rank);
  if (session.size() >= 2 && rank < 2) {
    const uint32_t peer = rank == 0 ? 1 : 0;
    const size_t n = 1 << 20;
    // Host API, one direction at a time (a host send completes only once its peer receives it):
    // rank 0 sends activations of micro-batches 1 and 2 in one exchange; rank 1 asks for
    // micro-batch 2 first, so micro-batch 1 must be parked in the mailbox; then rank 1 sends the
    // gradient of 1 back.
    MessageKey a1{false, 1, 0, 1}, a2{false, 2, 0, 1}, g1{true, 1, 1, 0};
    std::vector<float> got;
    if (rank == 0) {
      (*t)->BeginExchange();
      const bool sent = (*t)->Send(1, a1, Pattern(n, 1)).ok() && (*t)->Send(1, a2, Pattern(n, 2)).ok();
      failures +=
          Check(sent && (*t)->EndExchange(std::chrono::milliseconds(30000)).ok(), "host send a1, a2", rank);
      const bool ok = (*t)->Recv(1, g1, &got, std::chrono::milliseconds(30000)).ok() && got == Pattern(n, 3);
      failures += Check(ok, "host recv g1", rank);
    } else {
      bool ok = (*t)->Recv(0, a2, &got, std::chrono::milliseconds(30000)).ok() && got == Pattern(n, 2);
      failures += Check(ok, "host recv a2 before a1", rank);
      ok = (*t)->Recv(0, a1, &got, std::chrono::milliseconds(30000)).ok() && got == Pattern(n, 1);
      failures += Check(ok, "host recv a1 from the mailbox", rank);
      failures += Check((*t)->Send(0, g1, Pattern(n, 3)).ok(), "host send g1", rank);
    }
    // Device API, both directions at once.
    DeviceBuffer out(n * sizeof(float)), in(n * sizeof(float));
    const std::vector<float> mine = Pattern(n, 10.0f + rank);
    CUDA_CHECK(cudaMemcpy(out.get(), mine.data(), n * sizeof(float), cudaMemcpyHostToDevice));
    cudaStream_t s;
    CUDA_CHECK(cudaStreamCreate(&s));
    const MessageKey dk{rank == 1, 3, static_cast<uint32_t>(rank), peer};
    const MessageKey from_peer{rank == 0, 3, peer, static_cast<uint32_t>(rank)};
    // One exchange: both ranks post their send and receive as one NCCL group.
    (*t)->BeginExchange();
    failures += Check((*t)->SendDevice(peer, dk, out.get(), n * sizeof(float), s, nullptr).ok() &&
                          (*t)->RecvDevice(peer, from_peer, in.get(), n * sizeof(float), s, nullptr).ok() &&
                          (*t)->EndExchange(std::chrono::milliseconds(30000)).ok(),
                      "device send and recv in one exchange", rank);
    CUDA_CHECK(cudaStreamSynchronize(s));
    std::vector<float> back(n);
    CUDA_CHECK(cudaMemcpy(back.data(), in.get(), n * sizeof(float), cudaMemcpyDeviceToHost));
    failures += Check(back == Pattern(n, 10.0f + peer), "device payload intact", rank);
    CUDA_CHECK(cudaStreamDestroy(s));
    failures += Check((*t)->Flush().ok(), "flush", rank);
  }
  if (session.size() >= 2) {
    failures += RankModeMatchesOneGpu(t->get(), ir::ONE_F_ONE_B_FLUSH, rank);
    failures += RankModeMatchesOneGpu(t->get(), ir::PACI, rank);
  }
  if (session.size() >= 2 && rank < 2) {
    // A dead peer: rank 0 sends a message rank 1 never receives. The watchdog must abort the
    // communicator after the exchange's 2 s deadline and name the message; nothing may hang.
    if (rank == 0) {
      DeviceBuffer buf(1 << 24);
      const auto begin = std::chrono::steady_clock::now();
      (*t)->BeginExchange();
      (void)(*t)->SendDevice(1, MessageKey{false, 99, 0, 1}, buf.get(), 1 << 24, nullptr, nullptr);
      (void)(*t)->EndExchange(std::chrono::milliseconds(2000));
      const Status st = (*t)->Flush();
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
      std::printf("rank 0: dead peer: %s after %.1f s\n", st.ToString().c_str(), waited);
      failures += Check(st.code() == Status::Code::kDeadlineExceeded &&
                            st.message().find("micro-batch 99") != std::string::npos && waited < 10,
                        "dead peer times out naming the message", rank);
    }
    session.Barrier();
  }
  t->reset();
  session.Barrier();
  return failures == 0 ? 0 : 1;
}
