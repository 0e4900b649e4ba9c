// The kernel thread budget (`paci train` prints it), the linear layers' GEMM (exec/model/gemm.h,
// whichever library the build chose) against a plain triple loop, in every transpose case, and the
// optimizer's split loops (gradient norm, zeroing, clipping inside AdamW), at one and two kernel
// threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <omp.h>

#include <thread>

#include "exec/model/adamw.h"
#include "exec/model/affinity.h"
#include "exec/model/gemm.h"
#include "exec/model/profile.h"
#include "exec/model/threads.h"

namespace paci::exec {
namespace {

TEST(ThreadBudget, SharesTheCoresWithoutOversubscribing) {
  if (!exec_openmp()) {  // a PACI_OPENMP=OFF build: one kernel thread per stage, whatever the cores
    EXPECT_EQ(plan_thread_budget(16, 1, 0).threads_per_stage, 1);
    exec_set_threads(2);
    EXPECT_EQ(exec_threads(), 1);
    // A profile would record 2 threads while measuring 1: refused before anything is timed.
    ProfileOptions o;
    o.threads = 2;
    const Result<ir::Profile> p = MeasureProfile(o);
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.status().message().find("PACI_OPENMP=OFF"), std::string::npos) << p.status().message();
    return;
  }
  const ThreadBudget one = plan_thread_budget(16, 1, 0);
  EXPECT_EQ(one.threads_per_stage, 16);  // a lone stage splits its GEMMs over every core
  EXPECT_FALSE(one.oversubscribed());
  const ThreadBudget four = plan_thread_budget(16, 4, 0);
  EXPECT_EQ(four.threads_per_stage, 4);
  EXPECT_FALSE(four.oversubscribed());
  const ThreadBudget odd = plan_thread_budget(6, 4, 0);
  EXPECT_EQ(odd.threads_per_stage, 1);  // 4 x 2 would exceed 6 cores
  EXPECT_FALSE(odd.oversubscribed());
  const ThreadBudget many = plan_thread_budget(2, 4, 0);
  EXPECT_EQ(many.threads_per_stage, 1);
  EXPECT_TRUE(many.oversubscribed());
  EXPECT_NE(many.describe().find("more stages than cores"), std::string::npos) << many.describe();
  const ThreadBudget asked = plan_thread_budget(2, 2, 2);
  EXPECT_EQ(asked.threads_per_stage, 2);
  EXPECT_TRUE(asked.requested);
  EXPECT_TRUE(asked.oversubscribed());
  EXPECT_NE(asked.describe().find("--threads"), std::string::npos) << asked.describe();
}

// Each stage gets its own consecutive CPUs of the allowed set, or none when they do not fit.
TEST(Affinity, StageSharesAreDisjointAndRefuseWhatDoesNotFit) {
  const std::vector<int> allowed = {0, 2, 3, 5, 6, 7};
  EXPECT_EQ(stage_cpus(allowed, 0, 2), (std::vector<int>{0, 2}));
  EXPECT_EQ(stage_cpus(allowed, 2, 2), (std::vector<int>{6, 7}));
  EXPECT_TRUE(stage_cpus(allowed, 3, 2).empty());
  EXPECT_EQ(stage_cpus(allowed, 5, 1), (std::vector<int>{7}));
  EXPECT_TRUE(stage_cpus(allowed, 0, 0).empty());
  EXPECT_TRUE(stage_cpus(allowed, -1, 1).empty());
}

// Pinning through the real kernel: the thread then runs only on that CPU, and so do the threads
// it starts afterwards (std::thread and OpenMP workers), which is what lets one call per stage
// thread cover every kernel thread of that stage.
TEST(Affinity, APinnedThreadAndTheThreadsItStartsStayOnItsCpu) {
  const std::vector<int> allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  const int cpu = allowed.back();
  std::vector<int> pinned, child, omp_worker;
  Status st;
  std::thread([&] {
    st = pin_this_thread({cpu});
    pinned = this_thread_cpus();
    std::thread([&] { child = this_thread_cpus(); }).join();
#pragma omp parallel num_threads(2)
    {
      if (omp_get_thread_num() == 1) omp_worker = this_thread_cpus();
    }
  }).join();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(pinned, std::vector<int>{cpu});
  EXPECT_EQ(child, std::vector<int>{cpu});
  EXPECT_EQ(omp_worker, std::vector<int>{cpu});
  EXPECT_EQ(allowed_cpus(), allowed);  // the process's mask is untouched
  EXPECT_FALSE(pin_this_thread({}).ok());
  EXPECT_FALSE(pin_this_thread({-1}).ok());
}

// C = beta C + op(A) op(B) in double, element by element.
std::vector<float> NaiveGemm(bool ta, bool tb, int M, int N, int K, const std::vector<float>& A,
                             const std::vector<float>& B, float beta, std::vector<float> C) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double s = 0.0;
      for (int k = 0; k < K; k++) {
        const float a = ta ? A[static_cast<size_t>(k) * M + i] : A[static_cast<size_t>(i) * K + k];
        const float b = tb ? B[static_cast<size_t>(j) * K + k] : B[static_cast<size_t>(k) * N + j];
        s += static_cast<double>(a) * b;
      }
      float& c = C[static_cast<size_t>(i) * N + j];
      c = static_cast<float>(beta * c + s);
    }
  return C;
}

// One shape below and one above kOpenBlasMinWork (gemm.cc), so an OpenBLAS build runs both paths;
// neither is a multiple of any tile, and both are large enough to be split over two threads.
void CheckShape(int M, int N, int K) {
  std::vector<float> A(static_cast<size_t>(M) * K), B(static_cast<size_t>(K) * N), C0(static_cast<size_t>(M) * N);
  for (size_t i = 0; i < A.size(); i++) A[i] = static_cast<float>(std::sin(0.37 * i));
  for (size_t i = 0; i < B.size(); i++) B[i] = static_cast<float>(std::cos(0.11 * i));
  for (size_t i = 0; i < C0.size(); i++) C0[i] = static_cast<float>(0.01 * (i % 17));
  for (int threads : {1, 2}) {
    exec_set_threads(threads);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (float beta : {0.0f, 1.0f}) {
          std::vector<float> got = C0;
          gemm(ta, tb, M, N, K, A.data(), ta ? M : K, B.data(), tb ? K : N, beta, got.data(), N);
          const std::vector<float> want = NaiveGemm(ta, tb, M, N, K, A, B, beta, C0);
          for (size_t i = 0; i < got.size(); i++)
            ASSERT_NEAR(got[i], want[i], 1e-4f * (1.0f + std::fabs(want[i])))
                << gemm_backend_name() << " " << M << "x" << N << "x" << K << " threads " << threads << " ta " << ta
                << " tb " << tb << " beta " << beta << " at " << i;
        }
  }
  exec_set_threads(1);
}

TEST(Optimizer, GradientNormIsTheSameAtAnyThreadCountAndMatchesALongDoubleSum) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1e-2f);
  std::vector<float> g((1 << 20) + 13);  // not a multiple of the block, so the tail is summed too
  for (float& x : g) x = normal(rng);
  long double exact = 0.0L;
  for (float x : g) exact += static_cast<long double>(x) * x;
  exec_set_threads(1);
  const double one = grad_sq_norm(g.data(), g.size());
  exec_set_threads(2);
  const double two = grad_sq_norm(g.data(), g.size());
  exec_set_threads(1);
  EXPECT_EQ(std::memcmp(&one, &two, sizeof(double)), 0) << one << " vs " << two;
  EXPECT_NEAR(one, static_cast<double>(exact), 1e-12 * static_cast<double>(exact));
}

TEST(Optimizer, ZeroingAndClippingInsideAdamWMatchThePlainLoops) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  ParamLayout layout;
  layout.total = (1 << 18) + 5;
  ParamSpec w;
  w.name = "w";
  w.shape = {static_cast<int64_t>(layout.total)};
  w.numel = layout.total;
  w.decay = true;
  layout.tensors.push_back(w);
  std::vector<float> params(layout.total), grads(layout.total);
  for (float& x : params) x = normal(rng);
  for (float& x : grads) x = normal(rng);
  const float scale = grad_clip_scale(grad_sq_norm(grads.data(), grads.size()), 1.0f);
  ASSERT_LT(scale, 1.0f);  // the norm is ~500, so clipping applies
  for (int threads : {1, 2}) {
    exec_set_threads(threads);
    AdamW fused = adamw_create({}, layout, 0, layout.total), plain = fused;
    std::vector<float> p_fused = params, p_plain = params, g_plain = grads;
    for (float& x : g_plain) x *= scale;  // what clipping did before it moved into the update
    for (int step = 0; step < 3; step++) {
      adamw_update(&fused, p_fused.data(), grads.data(), 1e-3f, scale);
      adamw_update(&plain, p_plain.data(), g_plain.data(), 1e-3f);
    }
    EXPECT_EQ(std::memcmp(p_fused.data(), p_plain.data(), p_plain.size() * sizeof(float)), 0) << threads;
    std::vector<float> z = grads;
    zero_floats(z.data(), z.size());
    for (float x : z) ASSERT_EQ(x, 0.0f);
  }
  exec_set_threads(1);
}

TEST(Gemm, MatchesAPlainLoopInEveryTransposeCase) {
  CheckShape(70, 53, 300);
  CheckShape(150, 230, 300);
}

}  // namespace
}  // namespace paci::exec
