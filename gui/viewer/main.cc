// paci-viewer [FILE.db]: the Qt viewer. With --screenshot it renders one view without a display
// (offscreen platform) and exits; with --bench it prints open, first-paint and zoom timings of a
// run's timeline. See README.md ("Viewer") for the flags.
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QThread>
#include <QTimer>
#include <QWheelEvent>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "gui/model/sim_backend.h"
#include "gui/viewer/compare_page.h"
#include "gui/viewer/curves_page.h"
#include "gui/viewer/explorer_page.h"
#include "gui/viewer/main_window.h"
#include "gui/viewer/replay_page.h"
#include "gui/viewer/run_browser.h"
#include "gui/viewer/timeline_page.h"
#include "gui/viewer/timeline_widget.h"
#include "proto/exit_codes.h"
#include "proto/ir_names.h"

namespace paci::gui {
namespace {

bool WaitFor(const std::function<bool()>& done, int timeout_ms) {
  QElapsedTimer t;
  t.start();
  while (!done() && t.elapsed() < timeout_ms) {
    QCoreApplication::processEvents(QEventLoop::AllEvents, 20);
    QThread::msleep(2);
  }
  return done();
}

std::vector<int64_t> ParseIds(const QString& s) {
  std::vector<int64_t> ids;
  for (const QString& p : s.split(',', Qt::SkipEmptyParts)) ids.push_back(p.trimmed().toLongLong());
  return ids;
}

std::optional<MainWindow::View> ParseView(const QString& v) {
  static const std::pair<const char*, MainWindow::View> kViews[] = {
      {"runs", MainWindow::View::kRuns},       {"timeline", MainWindow::View::kTimeline},
      {"compare", MainWindow::View::kCompare}, {"explorer", MainWindow::View::kExplorer},
      {"replay", MainWindow::View::kReplay},   {"curves", MainWindow::View::kCurves}};
  for (const auto& [name, view] : kViews) {
    if (v == QLatin1String(name)) return view;
  }
  return std::nullopt;
}

// Fills the explorer from flags, simulates and sweeps, and waits for both.
bool PrepareExplorer(MainWindow& w, const QCommandLineParser& args) {
  ExplorerPage* page = w.explorerPage();
  ExplorerConfig c = page->model().config();
  if (args.isSet("schedule")) {
    c.kind = ParseScheduleName(args.value("schedule").toStdString()).value_or(c.kind);
  }
  if (args.isSet("stages")) c.stages = args.value("stages").toUInt();
  if (args.isSet("accum")) c.accum = args.value("accum").toUInt();
  page->setConfig(c);
  page->startSweep();
  return WaitFor([&] { return !page->model().busy() && !page->model().sweep().empty(); }, 120000) &&
         page->model().outcome() != nullptr;
}

// Opens a run asynchronously as a user would and prints how long each step took.
int Bench(MainWindow& w, const QString& path, int64_t id, const QElapsedTimer& since_start) {
  QElapsedTimer t;
  t.start();
  bool shown = false;
  QObject::connect(&w, &MainWindow::runShown, [&] { shown = true; });
  w.openRun(id);
  if (!WaitFor([&] { return shown; }, 600000)) return 1;
  const double load_ms = t.nsecsElapsed() / 1e6;
  TimelineWidget* tl = w.timelinePage()->timeline();
  QCoreApplication::processEvents();
  t.restart();
  (void)tl->grab();
  const double paint_ms = t.nsecsElapsed() / 1e6;
  TimelinePage* page = w.timelinePage();
  const RunOverview* overview = page->model()->overview();
  const size_t ops =
      overview ? static_cast<size_t>(overview->op_count()) : page->model()->index().ops().size();
  std::printf("run %lld: %zu ops%s\n", static_cast<long long>(id), ops,
              overview ? " (opened from its summary, ops loaded a window at a time)" : "");
  std::printf("load (store read + index, off the UI thread): %.1f ms\n", load_ms);
  std::printf("first paint of the whole run: %.1f ms\n", paint_ms);
  std::printf("time to first paint since process start: %.1f ms\n", since_start.nsecsElapsed() / 1e6);
  double total = 0, worst = 0;
  const int steps = 40;
  for (int i = 0; i < steps; ++i) {
    // 20 notches in, then 20 out, about the middle: every frame repaints the whole timeline.
    const int delta = i < steps / 2 ? 120 : -120;
    const QPointF pos(tl->width() / 2.0, 60);
    QWheelEvent e(pos, tl->mapToGlobal(pos), QPoint(), QPoint(0, delta), Qt::NoButton, Qt::NoModifier,
                  Qt::NoScrollPhase, false);
    t.restart();
    QApplication::sendEvent(tl, &e);
    (void)tl->grab();
    const double ms = t.nsecsElapsed() / 1e6;
    total += ms;
    worst = std::max(worst, ms);
  }
  std::printf("zoom (wheel notch + full repaint), %d frames: mean %.2f ms, worst %.2f ms\n", steps,
              total / steps, worst);
  // Full-width frames: the whole run in view (every lane drawn at its coarsest level of detail),
  // then panning a view zoomed 100x (Shift+wheel), each a full repaint.
  auto frames = [&](const char* what, int n, const std::function<void()>& step) {
    double sum = 0, max = 0;
    for (int i = 0; i < n; ++i) {
      t.restart();
      step();
      (void)tl->grab();
      const double ms = t.nsecsElapsed() / 1e6;
      sum += ms;
      max = std::max(max, ms);
    }
    std::printf("%s, %d frames: mean %.2f ms, worst %.2f ms\n", what, n, sum / n, max);
  };
  frames("full-width frame, whole run in view", 20, [&] { tl->fit(); });
  const double makespan = static_cast<double>(page->model()->index().makespan());
  // Let window loads the zooming started finish, then zoom to 100x and time the window's load.
  WaitFor([&] { return !page->windowLoading(); }, 600000);
  t.restart();
  tl->showRange(makespan * 0.45, makespan * 0.46);
  if (overview) {
    WaitFor([&] { return !page->windowLoading(); }, 600000);
    std::printf("window load at 100x zoom (off the UI thread): %.1f ms; %s\n", t.nsecsElapsed() / 1e6,
                page->windowStatus().toStdString().c_str());
  }
  int from_ops = 0;
  frames("pan (Shift+wheel notch + full repaint) at 100x zoom", 20, [&] {
    const QPointF pos(tl->width() / 2.0, 60);
    QWheelEvent e(pos, tl->mapToGlobal(pos), QPoint(), QPoint(0, -120), Qt::NoButton, Qt::ShiftModifier,
                  Qt::NoScrollPhase, false);
    QApplication::sendEvent(tl, &e);
    from_ops += page->model()->Covers(tl->axis().VisibleStart(), tl->axis().VisibleEnd());
  });
  std::printf("pan frames drawn from loaded ops: %d of 20\n", from_ops);
  // The search box at this zoom (a long run searches the ops loaded): typing a query and Enter,
  // the view moved to the first match and repainted.
  for (const char* q : {"F", "stage 3 B", "mb 90000"}) {
    t.restart();
    page->search(QString::fromLatin1(q));
    (void)tl->grab();
    std::printf("search \"%s\" (%zu ops searched): %.1f ms, %s\n", q, page->model()->index().ops().size(),
                t.nsecsElapsed() / 1e6, page->searchStatus().toStdString().c_str());
  }
  // Where the load time goes, measured again in this thread: store read vs. building the index.
  auto source = OpenStoreSource(path.toStdString());
  if (!source.ok()) return 1;
  QElapsedTimer phase;
  phase.start();
  double read_ms = 0;
  auto run = LoadAndIndex(
      **source, id,
      [&](double f) {
        if (f >= 0.6 && read_ms == 0) read_ms = phase.nsecsElapsed() / 1e6;
        return true;
      },
      LoadDetail::kWindowed);
  if (!run.ok()) return 1;
  if ((*run)->trace.overview) {
    std::printf("of which: %s (%lld ops) %.1f ms\n",
                (*run)->trace.summary.replayed ? "re-simulating the run into its summary (op tiles)"
                                               : "reading the summary",
                static_cast<long long>((*run)->trace.overview->op_count()), phase.nsecsElapsed() / 1e6);
    return 0;
  }
  std::printf(
      "of which: store read or re-simulation with each op placed into the index as it "
      "arrives %.1f ms (%zu ops, %zu memory samples), finishing the index %.1f ms\n",
      read_ms, (*run)->index->ops().size(), (*run)->trace.memory.size(),
      phase.nsecsElapsed() / 1e6 - read_ms);
  return 0;
}

// A numeric flag: finite and within [lo, hi], else exit 2 naming it (a NaN once hung the ruler).
double NumberFlag(const char* name, const QString& text, double lo, double hi) {
  bool ok = false;
  const double v = text.toDouble(&ok);
  if (!ok || !std::isfinite(v) || v < lo || v > hi)
    Fail(kExitBadInput, std::string("--") + name + ": '" + text.toStdString() + "' is not a number in [" +
                            QString::number(lo).toStdString() + ", " + QString::number(hi).toStdString() +
                            "]");
  return v;
}

// Event handlers run inside Qt's loop, which exceptions must not cross: stop the loop instead and
// let main() report it.
class ViewerApplication : public QApplication {
 public:
  using QApplication::QApplication;
  bool notify(QObject* receiver, QEvent* event) override {
    try {
      return QApplication::notify(receiver, event);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "paci-viewer: internal error: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "paci-viewer: internal error: unknown exception\n");
    }
    QCoreApplication::exit(kExitRuntimeError);
    return false;
  }
};

int RunViewer(int argc, char** argv) {
  QElapsedTimer since_start;
  since_start.start();
  // Screenshots, benchmarks and --help need no display: pick the offscreen platform unless told
  // otherwise.
  for (int i = 1; i < argc; ++i) {
    const QByteArray a(argv[i]);
    const bool headless = a == "--screenshot" || a == "--bench" || a == "--help" || a == "-h" ||
                          a == "--help-all" || a == "-?" || a == "--version" || a == "-v";
    if (headless && qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
      qputenv("QT_QPA_PLATFORM", "offscreen");
    }
  }
  ViewerApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("paci-viewer"));
  QCommandLineParser args;
  args.setApplicationDescription(
      QStringLiteral("PACI viewer: timelines, comparison, explorer, replay, curves"));
  args.addHelpOption();
  args.addPositionalArgument(QStringLiteral("FILE.db"), QStringLiteral("trace store to open"));
  args.addOptions({
      {"run", "Open run ID.", "ID"},
      {"compare", "Compare runs A,B (A the prediction).", "A,B"},
      {"curves", "Plot the curves of runs ID,ID,...", "IDS"},
      {"view", "View to show: runs|timeline|compare|explorer|replay|curves.", "VIEW"},
      {"screenshot", "Render the view to FILE (.png or .svg) and exit.", "FILE"},
      {"size", "Window size for screenshots (WxH).", "WxH", "1600x1000"},
      {"schedule", "Explorer: schedule name.", "NAME"},
      {"stages", "Explorer: P.", "P"},
      {"accum", "Explorer: K.", "K"},
      {"replay-at", "Replay: play head at this fraction of the run.", "F", "0.5"},
      {"select-op", "Timeline: select op ID and show its dependencies.", "ID"},
      {"range-ms", "Timeline/compare: show [A, B] milliseconds.", "A,B"},
      {"target-loss", "Curves: target loss line.", "LOSS"},
      {"curve-axis", "Curves: x axis, update or wall.", "AXIS", "update"},
      {"bench", "Open --run ID, print load, first-paint and zoom timings, and exit."},
  });
  args.process(app);

  MainWindow w(MakePaciSimBackend());
  const bool batch = args.isSet("screenshot") || args.isSet("bench");
  w.setInteractive(!batch);
  const QStringList size = args.value("size").split('x');
  if (size.size() == 2) w.resize(size[0].toInt(), size[1].toInt());
  w.show();
  if (!args.positionalArguments().isEmpty() && !w.openStore(args.positionalArguments().first())) {
    if (batch) return 1;
  }
  if (args.isSet("bench")) {
    if (args.positionalArguments().isEmpty()) return 2;
    return Bench(w, args.positionalArguments().first(), args.value("run").toLongLong(), since_start);
  }

  const auto parsed = ParseView(args.value("view"));
  if (args.isSet("view") && !parsed) {
    std::fprintf(stderr, "paci-viewer: unknown view %s\n", qPrintable(args.value("view")));
    return 2;
  }
  // Without --view, the last thing opened stays in front.
  const bool has_view = args.isSet("view");
  const MainWindow::View view = parsed.value_or(MainWindow::View::kRuns);
  bool ok = true;
  if (args.isSet("run"))
    ok = batch ? w.openRunNow(args.value("run").toLongLong())
               : (w.openRun(args.value("run").toLongLong()), true);
  if (ok && args.isSet("compare")) {
    const auto ids = ParseIds(args.value("compare"));
    ok =
        ids.size() == 2 && (batch ? w.compareRunsNow(ids[0], ids[1]) : (w.compareRuns(ids[0], ids[1]), true));
  }
  if (ok && (args.isSet("curves") || (has_view && view == MainWindow::View::kCurves))) {
    std::vector<int64_t> ids = ParseIds(args.value("curves"));
    if (ids.empty()) {
      for (const auto& r : w.browser()->model().runs()) ids.push_back(r.id);
    }
    ok = batch ? w.showCurvesNow(ids) : (w.showCurves(ids), true);
  }
  if (ok && has_view && view == MainWindow::View::kExplorer) ok = batch ? PrepareExplorer(w, args) : true;
  if (ok && has_view && view == MainWindow::View::kReplay) {
    const double at = NumberFlag("replay-at", args.value("replay-at"), 0, 1);
    auto place_head = [&w, at] {
      w.showView(MainWindow::View::kReplay);  // fills the replay page
      ReplayModel& r = w.replayPage()->model();
      if (r.index()) r.setTime(static_cast<int64_t>(static_cast<double>(r.index()->makespan()) * at));
    };
    if (batch)
      place_head();
    else  // the run loads in the background: once shown (and its Timeline tab brought to front)
      QObject::connect(
          &w, &MainWindow::runShown, &w, [&w, place_head] { QTimer::singleShot(0, &w, place_head); },
          Qt::SingleShotConnection);
  }
  if (ok && args.isSet("select-op")) w.timelinePage()->selectOpId(args.value("select-op").toULongLong());
  if (ok && args.value("curve-axis") == QLatin1String("wall"))
    w.curvesPage()->setAxis(CurveAxis::kWallSeconds);
  if (ok && args.isSet("range-ms")) {
    const QStringList r = args.value("range-ms").split(',');
    if (r.size() == 2) {
      QCoreApplication::processEvents();  // let the widgets take their final width first
      for (TimelineWidget* tl : {w.timelinePage()->timeline(), w.comparePage()->timeline()}) {
        tl->showRange(NumberFlag("range-ms", r[0], -1e12, 1e12) * 1e6,
                      NumberFlag("range-ms", r[1], -1e12, 1e12) * 1e6);
      }
    }
  }
  if (ok && args.isSet("target-loss"))
    w.curvesPage()->setTarget(NumberFlag("target-loss", args.value("target-loss"), -1e30, 1e30));
  if (has_view) w.showView(view);
  if (!batch) return app.exec();
  if (!ok) return 1;
  QCoreApplication::processEvents();
  // A zoomed-in timeline of a run stored op by op loads its window's ops off the UI thread: the
  // picture shows those ops, not the summary drawn while they load.
  if (!WaitFor([&] { return !w.timelinePage()->windowLoading(); }, 120000))
    std::fprintf(stderr, "paci-viewer: the window's ops were still loading after 120 s\n");
  return w.exportCurrentView(args.value("screenshot")) ? 0 : 1;
}

}  // namespace
}  // namespace paci::gui

// The program's one exception boundary (proto/exit_codes.h): bad flags exit 2, failures 1.
int main(int argc, char** argv) {
  return paci::ExitBoundary([] { return "paci-viewer"; }, [&] { return paci::gui::RunViewer(argc, argv); });
}
