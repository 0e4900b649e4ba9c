// The explorer's model-and-hardware cost model, driven through its real widgets offscreen: pick a
// model, hardware, link and micro-batch size (or a profile measured by `paci profile`), and the
// cards, the per-stage costs, the timeline and the K x P heatmap show exactly the numbers
// `paci simulate --model ... --hardware ... --json` prints for the same configuration. Both read
// the inputs with sim::ModelSetupFromInputs; this checks the viewer passes them on unchanged.
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>
#include <algorithm>

#include "gui/viewer/explorer_page.h"
#include "proto/ir_names.h"

using namespace paci;
using namespace paci::gui;

class ExplorerCostModelTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase();
  void hardwareControlsMatchTheCommandLine();
  void sweepCellsMatchTheCommandLine();
  void profileControlsMatchTheCommandLine();
  void badInputIsNamed();

 private:
  // Runs `paci ARGS` and returns its JSON output (fails the test on a non-zero exit).
  QJsonObject Paci(const QStringList& args);
  // Waits until the page shows the outcome of its current configuration.
  bool WaitForOutcome();
  void Pick(QComboBox* box, const QString& text);
  // The cards, per-stage costs and timeline against `paci simulate ... --json`.
  void CompareWithCli(const QStringList& cli_args);

  QTemporaryDir dir_;
  std::unique_ptr<ExplorerPage> page_;
};

QJsonObject ExplorerCostModelTest::Paci(const QStringList& args) {
  QProcess p;
  p.start(QStringLiteral(PACI_BIN), args);
  if (!p.waitForFinished(120000)) return {};
  const QByteArray out = p.readAllStandardOutput();
  if (p.exitCode() != 0) qWarning("paci %s: %s", qPrintable(args.join(' ')), p.readAllStandardError().constData());
  return QJsonDocument::fromJson(out).object();
}

bool ExplorerCostModelTest::WaitForOutcome() {
  // A change starts a job at once; wait until no job is pending and an outcome or error is there.
  return QTest::qWaitFor([&] { return !page_->model().busy() && (page_->model().outcome() || !page_->model().error().isEmpty()); },
                         60000);
}

void ExplorerCostModelTest::Pick(QComboBox* box, const QString& text) {
  const int i = box->findText(text);
  QVERIFY2(i >= 0, qPrintable(text));
  box->setCurrentIndex(i);  // as a click in the drop-down list does
}

void ExplorerCostModelTest::initTestCase() {
  QVERIFY(dir_.isValid());
  page_ = std::make_unique<ExplorerPage>(MakePaciSimBackend());
  page_->resize(1400, 900);
  page_->show();
  QVERIFY(QTest::qWaitForWindowExposed(page_.get()));
  QVERIFY(WaitForOutcome());
  ExplorerConfig c = page_->model().config();
  c.kind = ir::PACI;
  c.stages = 4;
  c.accum = 8;
  c.total_microbatches = 64;
  page_->setConfig(c);
  QVERIFY(WaitForOutcome());
  QVERIFY(page_->model().outcome());
  QCOMPARE(page_->model().config().cost_source, CostSource::kTyped);
  QVERIFY(!page_->stageCostsLabel()->isVisible());  // typed times: no layer split to show
}

void ExplorerCostModelTest::CompareWithCli(const QStringList& cli_args) {
  QVERIFY(WaitForOutcome());
  const auto outcome = page_->model().outcome();
  QVERIFY2(outcome && page_->model().error().isEmpty(), qPrintable(page_->model().error()));
  const ExplorerConfig& c = page_->model().config();
  QStringList args = {QStringLiteral("simulate"), QStringLiteral("--schedule"),
                      QString::fromStdString(ScheduleName(c.kind)), QStringLiteral("--stages"),
                      QString::number(c.stages), QStringLiteral("--accum"), QString::number(c.accum),
                      QStringLiteral("--microbatches"), QString::number(c.total_microbatches),
                      QStringLiteral("--json"), QStringLiteral("--no-db")};
  const QJsonObject j = Paci(args + cli_args);
  QVERIFY2(!j.isEmpty(), qPrintable(cli_args.join(' ')));
  const MetricCards& cards = outcome->cards;
  QCOMPARE(cards.makespan_ns, static_cast<int64_t>(j[QStringLiteral("makespan_ns")].toDouble()));
  QCOMPARE(cards.tokens_per_s, j[QStringLiteral("tokens_per_s")].toDouble());
  QCOMPARE(cards.bubble_fraction, j[QStringLiteral("bubble_fraction")].toDouble());
  const QJsonArray stages = j[QStringLiteral("per_stage")].toArray();
  QCOMPARE(static_cast<int>(cards.peak_bytes.size()), stages.size());
  QCOMPARE(outcome->cost.stages_size(), stages.size());
  for (int s = 0; s < stages.size(); ++s) {
    const QJsonObject st = stages[s].toObject();
    QCOMPARE(static_cast<double>(cards.peak_bytes[s]), st[QStringLiteral("peak_memory_bytes")].toDouble());
    const ir::StageCost& sc = outcome->cost.stages(s);
    QCOMPARE(static_cast<int>(sc.layers()), st[QStringLiteral("layers")].toInt());
    QCOMPARE(sc.forward_ns() / 1e6, st[QStringLiteral("forward_ms")].toDouble());
    QCOMPARE(static_cast<double>(sc.activation_bytes()), st[QStringLiteral("activation_bytes")].toDouble());
  }
  // The timeline draws the same ops: they end at the makespan.
  int64_t last = 0;
  for (const ir::TraceEvent& op : outcome->ops) last = std::max(last, op.end_ns());
  QCOMPARE(last, cards.makespan_ns);
  QVERIFY(page_->stageCostsLabel()->isVisible());
  QVERIFY2(page_->stageCostsLabel()->text().contains(QStringLiteral("S0: %1 layers").arg(outcome->cost.stages(0).layers())),
           qPrintable(page_->stageCostsLabel()->text()));
}

void ExplorerCostModelTest::hardwareControlsMatchTheCommandLine() {
  page_->costsControl()->setCurrentIndex(static_cast<int>(ExplorerPage::Costs::kHardware));
  Pick(page_->modelControl(), QStringLiteral("gpt2-medium"));
  Pick(page_->hardwareControl(), QStringLiteral("h100"));
  Pick(page_->linkControl(), QStringLiteral("nvlink4"));
  page_->microbatchControl()->setValue(8);
  QVERIFY(WaitForOutcome());
  QCOMPARE(page_->model().config().cost_source, CostSource::kModel);
  CompareWithCli({"--model", "gpt2-medium", "--hardware", "h100", "--link", "nvlink4", "--microbatch-size", "8"});
  const MetricCards h100 = page_->model().outcome()->cards;

  // Slower hardware: the same model takes longer, exactly as the command line says.
  Pick(page_->hardwareControl(), QStringLiteral("a100"));
  CompareWithCli({"--model", "gpt2-medium", "--hardware", "a100", "--link", "nvlink4", "--microbatch-size", "8"});
  QVERIFY(page_->model().outcome()->cards.makespan_ns > h100.makespan_ns);

  // A bigger model, a bigger micro-batch and a slower link.
  Pick(page_->modelControl(), QStringLiteral("gpt2-large"));
  page_->microbatchControl()->setValue(16);
  Pick(page_->linkControl(), QStringLiteral("pcie5"));
  CompareWithCli({"--model", "gpt2-large", "--hardware", "a100", "--link", "pcie5", "--microbatch-size", "16"});
  const MetricCards large = page_->model().outcome()->cards;
  QVERIFY(large.peak_bytes[0] > h100.peak_bytes[0]);

  // A model typed as a file, as the command line takes one.
  const QString file = dir_.filePath(QStringLiteral("model.json"));
  QFile f(file);
  QVERIFY(f.open(QIODevice::WriteOnly));
  f.write(R"({"layers": 10, "dim": 512, "heads": 8, "seq": 512, "vocab": 32000})");
  f.close();
  page_->modelControl()->setEditText(file);
  emit page_->modelControl()->lineEdit()->editingFinished();
  CompareWithCli({"--model", file, "--hardware", "a100", "--link", "pcie5", "--microbatch-size", "16"});
}

void ExplorerCostModelTest::sweepCellsMatchTheCommandLine() {
  page_->costsControl()->setCurrentIndex(static_cast<int>(ExplorerPage::Costs::kHardware));
  Pick(page_->modelControl(), QStringLiteral("gpt2"));
  Pick(page_->hardwareControl(), QStringLiteral("h200"));
  Pick(page_->linkControl(), QStringLiteral("ib-ndr"));
  page_->microbatchControl()->setValue(4);
  QVERIFY(WaitForOutcome());
  QSignalSpy swept(&page_->model(), &ExplorerModel::sweepReady);
  page_->model().runSweep({4, 8}, {2, 4});
  QVERIFY(swept.wait(60000));
  const SweepData& d = page_->model().sweep();
  for (size_t ki = 0; ki < d.ks.size(); ++ki) {
    for (size_t pi = 0; pi < d.ps.size(); ++pi) {
      const ExplorerConfig c = page_->model().cellConfig(ki, pi);
      const QJsonObject j = Paci({"simulate", "--schedule", "paci", "--stages", QString::number(c.stages), "--accum",
                                  QString::number(c.accum), "--microbatches", QString::number(c.total_microbatches),
                                  "--model", "gpt2", "--hardware", "h200", "--link", "ib-ndr", "--microbatch-size", "4",
                                  "--json", "--no-db"});
      QVERIFY(d.At(ki, pi).ok);
      QCOMPARE(d.At(ki, pi).tokens_per_s, j[QStringLiteral("tokens_per_s")].toDouble());
      QCOMPARE(d.At(ki, pi).bubble_fraction, j[QStringLiteral("bubble_fraction")].toDouble());
    }
  }
}

void ExplorerCostModelTest::profileControlsMatchTheCommandLine() {
  // A real profile of a small model on this machine (short: the numbers only need to exist).
  const QString prof = dir_.filePath(QStringLiteral("profile.json"));
  QProcess p;
  p.start(QStringLiteral(PACI_BIN), {"profile", "--layers", "6", "--dim", "32", "--heads", "2", "--seq", "16",
                                     "--microbatch-size", "2", "--threads", "1", "--colocate", "2",
                                     "--max-repetitions", "20", "--max-seconds-per-layer", "0.2",
                                     "--colocate-seconds", "0.2", "-o", prof});
  QVERIFY(p.waitForFinished(120000));
  QCOMPARE(p.exitCode(), 0);
  page_->costsControl()->setCurrentIndex(static_cast<int>(ExplorerPage::Costs::kProfile));
  QVERIFY(page_->profileControl()->isVisible());
  QVERIFY(!page_->hardwareControl()->isVisible());
  Pick(page_->linkControl(), QString());  // no link: stages on one machine
  page_->microbatchControl()->setValue(0);  // the profile's own
  page_->profileControl()->setText(prof);
  emit page_->profileControl()->editingFinished();
  CompareWithCli({"--profile", prof});
  const MetricCards alone = page_->model().outcome()->cards;
  page_->findChild<QCheckBox*>()->setChecked(true);  // stages share the device
  CompareWithCli({"--profile", prof, "--colocate"});
  // Sharing the device changes the prediction in the direction of the slowdown this machine
  // measured: on an idle multi-core box two threads may run as fast as one (a factor at or even
  // just below 1), so "slower" alone would be a test of the machine's load, not of the explorer.
  QFile file(prof);
  QVERIFY(file.open(QIODevice::ReadOnly));
  const QJsonArray colocation = QJsonDocument::fromJson(file.readAll()).object()[QStringLiteral("colocation")].toArray();
  QVERIFY(!colocation.isEmpty());
  const double slowdown = colocation[0].toObject()[QStringLiteral("slowdown")].toDouble();
  QVERIFY(slowdown > 0);
  const double shared = page_->model().outcome()->cards.makespan_ns;
  if (slowdown > 1.0) QVERIFY2(shared > alone.makespan_ns, qPrintable(QString::number(slowdown)));
  if (slowdown < 1.0) QVERIFY2(shared < alone.makespan_ns, qPrintable(QString::number(slowdown)));
}

void ExplorerCostModelTest::badInputIsNamed() {
  page_->costsControl()->setCurrentIndex(static_cast<int>(ExplorerPage::Costs::kHardware));
  page_->hardwareControl()->setEditText(QStringLiteral("tpu9"));
  emit page_->hardwareControl()->lineEdit()->editingFinished();
  QVERIFY(WaitForOutcome());
  QVERIFY2(page_->model().error().contains(QStringLiteral("--hardware: unknown hardware 'tpu9'")),
           qPrintable(page_->model().error()));
  bool shown = false;
  for (QLabel* l : page_->findChildren<QLabel*>()) shown = shown || l->text().contains(QStringLiteral("tpu9"));
  QVERIFY(shown);
}

QTEST_MAIN(ExplorerCostModelTest)
#include "tst_explorer_cost_model.moc"
