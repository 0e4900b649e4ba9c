// The level-of-detail summary of a run stored op by op, on a real store: how long writing it
// takes (the same WriteOpTiles a finishing writer calls, in its own transaction), its size, and
// how long reading it and windows of the run take. Run by bench/store_bench.sh on the 9 M-row
// `paci simulate --keep-ops` run; results in bench/README.md.
// Usage: store_tiles_bench STORE RUN_ID   (rewrites that run's op tiles in place)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/op_tiles.h"
#include "store/sqlite_db.h"
#include "store/trace_store.h"

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// Bytes in the pages of one table (SQLite's dbstat table); -1 where SQLite lacks it.
int64_t TableBytes(const paci::store::SqliteDb& db, const char* table) {
  auto stmt = paci::store::SqliteStmt::Prepare(
      db, std::string("SELECT sum(pgsize) FROM dbstat WHERE name = '") + table + "'");
  if (!stmt.ok()) return -1;
  bool row = false;
  if (!stmt->Step(&row).ok() || !row) return -1;
  return stmt->Int(0);
}

int Fail(const paci::Status& st) {
  std::fprintf(stderr, "store_tiles_bench: %s\n", st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace paci::store;
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_tiles_bench STORE RUN_ID\n");
    return 2;
  }
  const std::string path = argv[1];
  const int64_t run = std::strtoll(argv[2], nullptr, 10);
  auto db = SqliteDb::Open(path, SQLITE_OPEN_READWRITE);
  if (!db.ok()) return Fail(db.status());
  {
    auto t = Clock::now();
    auto txn = SqliteTxn::Begin(*db);
    if (!txn.ok()) return Fail(txn.status());
    if (auto st = WriteOpTiles(*db, run); !st.ok()) return Fail(st);
    if (auto st = txn->Commit(); !st.ok()) return Fail(st);
    std::printf("write op tiles (scan the run's rows, insert tiles, commit): %.0f ms\n", MsSince(t));
  }
  const int64_t tiles_bytes = TableBytes(*db, "op_tiles"), ops_bytes = TableBytes(*db, "ops");
  std::printf("op_tiles table: %.2f MiB; ops table: %.1f MiB\n", tiles_bytes / 1048576.0,
              ops_bytes / 1048576.0);

  auto store = TraceStore::Open(path, OpenOptions{.create_if_missing = false, .read_only = true});
  if (!store.ok()) return Fail(store.status());
  auto t = Clock::now();
  auto tiles = store->LoadOpTiles(run);
  if (!tiles.ok()) return Fail(tiles.status());
  if (!tiles->has_value()) return Fail(paci::Status::NotFound("run has no op tiles"));
  const OpTileSummary& s = **tiles;
  std::printf("read summary: %zu tiles of %lld ns for %lld ops in %.0f ms\n", s.tiles.size(),
              static_cast<long long>(s.tile_ns), static_cast<long long>(s.op_count), MsSince(t));
  // Windows in the middle of the run, from a 1/3000 of it up to the viewer's cap.
  const int64_t span = s.last_end_ns - s.first_start_ns, mid = s.first_start_ns + span / 2;
  for (int64_t parts : {3000, 300, 100, 30}) {
    t = Clock::now();
    auto w = store->LoadOpWindow(run, mid, mid + span / parts, 1 << 30);
    if (!w.ok()) return Fail(w.status());
    std::printf("window of 1/%lld of the run: %zu ops (ids read %lld) in %.0f ms\n",
                static_cast<long long>(parts), w->ops.size(), static_cast<long long>(w->ids_read),
                MsSince(t));
  }
  return 0;
}
