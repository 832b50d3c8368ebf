// timm's (pytorch-image-models) checkpoints: key names, timm's channel arithmetic and layer
// details, scheme detection and its errors.
//
// TimmSpec / TimmKeys / TimmScheme need no Python. TimmParity uses the files tests/to_timm_keys.py
// writes at test time (FIXTURES/timm/): the parity fixtures' torchvision-named weights renamed to
// timm's names from timm's definitions (independently of include/mobilenet/io/timm_names.hpp),
// with torch's logits of the network as timm defines it, plus two V3 networks at width 0.75
// built with timm's channel counts.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "error_expectations.hpp"
#include "mobilenet/mobilenet.hpp"
#include "parity_helpers.hpp"
#include "safetensors_writer.hpp"

namespace {

using namespace mobilenet;
using testing_io::make_safetensors;
using testing_io::NamedTensor;

std::string timm_temp_path(const std::string& name) {
  return testing_io::temp_path("mobilenet_timm_", name);
}
using parity::Deviation;
using parity::deviation;
using parity::run;
using testing_io::expect_error_containing;

int64_t parameters(const Model& m) {
  int64_t n = 0;
  for (const LayerInfo& l : m.layers(224, 224)) n += l.params;
  return n;
}

ModelOptions timm(double width, int classes = 1000) {
  return {width, classes, Scheme::Timm};
}

TEST(TimmSpec, ParameterCountsEqualTimmsPublishedCounts) {
  // timm's results/results-imagenet.csv (param_count, millions to 0.01) for
  // mobilenetv2_050/100/140, mobilenetv3_large_100, mobilenetv3_small_050/075/100 and
  // tf_mobilenetv3_large_075 (the same network as the untrained mobilenetv3_large_075, BatchNorm
  // eps and padding aside); timm's README (the MobileNet-V1 baselines table) for mobilenetv1_100.
  // (results-imagenet.csv at commit 0173a139 of huggingface/pytorch-image-models.) The exact
  // counts are sum(p.numel()) of timm's definitions, counted layer by layer from its arch_def
  // strings.
  struct Row {
    const char* name;
    Arch arch;
    double width;
    int64_t exact;
    double published_millions;
  };
  const Row rows[] = {
      {"mobilenetv1_100", Arch::V1, 1.0, 4231976, 4.23},
      {"mobilenetv2_050", Arch::V2, 0.5, 1968680, 1.97},
      {"mobilenetv2_100", Arch::V2, 1.0, 3504872, 3.50},
      {"mobilenetv2_140", Arch::V2, 1.4, 6108776, 6.11},
      {"mobilenetv3_large_075", Arch::V3Large, 0.75, 3993528, 3.99},
      {"mobilenetv3_large_100", Arch::V3Large, 1.0, 5483032, 5.48},
      {"mobilenetv3_small_050", Arch::V3Small, 0.5, 1593224, 1.59},
      {"mobilenetv3_small_075", Arch::V3Small, 0.75, 2041872, 2.04},
      {"mobilenetv3_small_100", Arch::V3Small, 1.0, 2542856, 2.54},
  };
  for (const Row& r : rows) {
    const int64_t n = parameters(random_model(r.arch, timm(r.width)));
    EXPECT_EQ(n, r.exact) << r.name;
    EXPECT_NEAR(static_cast<double>(n) / 1e6, r.published_millions, 0.005) << r.name;
  }
  // torchvision's rules give other networks at 0.75 (torchvision: 3377576 and 1653920).
  EXPECT_EQ(parameters(random_model(Arch::V3Large, {0.75, 1000})), 3377576);
  EXPECT_EQ(parameters(random_model(Arch::V3Small, {0.75, 1000})), 1653920);
}

TEST(TimmSpec, ChannelArithmeticAndLayerDetailsFollowTimm) {
  for (Arch arch :
       {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {  // width 1.0: same channels
    const NetworkSpec a = make_spec(arch, {}), b = make_spec(arch, timm(1.0));
    ASSERT_EQ(a.blocks.size(), b.blocks.size());
    for (size_t i = 0; i < a.blocks.size(); ++i) {
      EXPECT_EQ(a.blocks[i].expanded, b.blocks[i].expanded) << to_string(arch) << " block " << i;
      EXPECT_EQ(a.blocks[i].squeeze, b.blocks[i].squeeze) << to_string(arch) << " block " << i;
    }
    EXPECT_EQ(a.last_conv_out, b.last_conv_out);
    EXPECT_EQ(a.hidden, b.hidden);
  }
  // V3-Large 0.75, block 7 (80 -> 80, e2.5): timm make_divisible(64 * 2.5) = 160, torchvision
  // make_divisible(200 * 0.75) = 152; block 8 (e2.3): 144 vs 136.
  const NetworkSpec tv = make_spec(Arch::V3Large, {0.75, 1000}),
                    tm = make_spec(Arch::V3Large, timm(0.75));
  EXPECT_EQ(tv.blocks[7].expanded, 152);
  EXPECT_EQ(tm.blocks[7].expanded, 160);
  EXPECT_EQ(tv.blocks[8].expanded, 136);
  EXPECT_EQ(tm.blocks[8].expanded, 144);
  EXPECT_EQ(tm.blocks[11].squeeze, make_divisible(tm.blocks[11].expanded * 0.25));
  EXPECT_EQ(tv.hidden, 960);   // make_divisible(1280 * 0.75)
  EXPECT_EQ(tm.hidden, 1280);  // timm's num_features is not scaled
  EXPECT_EQ(tm.last_conv_out, 720);
  // fix_stem below 0.75: 16 stem channels where torchvision has make_divisible(16 * 0.5) = 8.
  EXPECT_EQ(make_spec(Arch::V3Small, {0.5, 10}).stem_out, 8);
  EXPECT_EQ(make_spec(Arch::V3Small, timm(0.5, 10)).stem_out, 16);
  EXPECT_EQ(make_spec(Arch::V3Small, timm(0.5, 10)).blocks[0].in, 16);
  // Layer details: timm's V1 uses ReLU6, its V3 BatchNorm eps 1e-5 (torchvision: ReLU, 1e-3).
  EXPECT_EQ(make_spec(Arch::V1, timm(1.0)).stem_act, Activation::ReLU6);
  EXPECT_EQ(make_spec(Arch::V1, timm(1.0)).blocks[5].act, Activation::ReLU6);
  EXPECT_EQ(make_spec(Arch::V1, {}).blocks[5].act, Activation::ReLU);
  EXPECT_EQ(make_spec(Arch::V3Large, timm(1.0)).bn_eps, 1e-5);
  EXPECT_EQ(make_spec(Arch::V3Large, {}).bn_eps, 1e-3);
  EXPECT_EQ(make_spec(Arch::V2, timm(1.0)).bn_eps, 1e-5);
}

TEST(TimmKeys, NamesFollowTimmsModules) {
  const NetworkKeys s = timm_keys(make_spec(Arch::V3Small, timm(1.0)));
  EXPECT_EQ(s.stem.conv, "conv_stem");
  EXPECT_EQ(s.stem.bn, "bn1");
  EXPECT_FALSE(s.blocks[0].expand);  // ds block with SE
  EXPECT_EQ(s.blocks[0].depthwise.conv, "blocks.0.0.conv_dw");
  EXPECT_EQ(s.blocks[0].se_reduce, "blocks.0.0.se.conv_reduce");
  EXPECT_EQ(s.blocks[0].se_expand, "blocks.0.0.se.conv_expand");
  EXPECT_EQ(s.blocks[0].project.conv, "blocks.0.0.conv_pw");
  EXPECT_EQ(s.blocks[0].project.bn, "blocks.0.0.bn2");
  EXPECT_EQ(s.blocks[2].expand->conv, "blocks.1.1.conv_pw");
  EXPECT_EQ(s.blocks[2].depthwise.bn, "blocks.1.1.bn2");
  EXPECT_TRUE(s.blocks[2].se_reduce.empty());
  EXPECT_EQ(s.blocks[10].project.conv, "blocks.4.2.conv_pwl");
  EXPECT_EQ(s.blocks[10].project.bn, "blocks.4.2.bn3");
  EXPECT_EQ(s.last_conv.conv, "blocks.5.0.conv");
  EXPECT_EQ(s.last_conv.bn, "blocks.5.0.bn1");
  EXPECT_EQ(s.linears, (std::vector<std::string>{"conv_head", "classifier"}));
  const NetworkKeys l = timm_keys(make_spec(Arch::V3Large, timm(1.0)));
  EXPECT_EQ(l.blocks[14].se_expand, "blocks.5.2.se.conv_expand");
  EXPECT_EQ(l.last_conv.conv, "blocks.6.0.conv");
  const NetworkKeys v2 = timm_keys(make_spec(Arch::V2, timm(1.0)));
  EXPECT_EQ(v2.blocks[0].depthwise.conv, "blocks.0.0.conv_dw");
  EXPECT_EQ(v2.blocks[16].project.conv, "blocks.6.0.conv_pwl");
  EXPECT_EQ(v2.last_conv.conv, "conv_head");
  EXPECT_EQ(v2.last_conv.bn, "bn2");
  EXPECT_EQ(v2.linears, (std::vector<std::string>{"classifier"}));
  const NetworkKeys v1 = timm_keys(make_spec(Arch::V1, timm(1.0)));
  EXPECT_EQ(v1.blocks[12].depthwise.conv, "blocks.4.1.conv_dw");
  EXPECT_EQ(v1.blocks[12].project.bn, "blocks.4.1.bn2");
  EXPECT_EQ(v1.linears, (std::vector<std::string>{"classifier"}));
  // timm's stages hold a fixed number of blocks: a custom spec cannot be named.
  NetworkSpec odd = make_spec(Arch::V2, timm(1.0));
  odd.blocks.pop_back();
  expect_error_containing([&] { timm_keys(odd); },
                          {"timm key names need the 17 blocks", "the spec has 16"});
}

/// Writes the tensors a timm-scheme model of `arch` asks for under timm's names (conv_head of V3
/// stored as timm stores it, [out, in, 1, 1], unless `linear_head`); returns the model built
/// from those same values.
Model write_timm_file(const std::string& path, Arch arch, const ModelOptions& o,
                      bool linear_head = false) {
  const NetworkSpec spec = make_spec(arch, o);
  testing_io::RecordingWeights rec;
  Model m(spec, rec, timm_keys(spec));
  auto tensors = rec.requested;
  if (!linear_head && tensors.count("conv_head.weight") &&
      tensors["conv_head.weight"].shape.size() == 2) {
    tensors["conv_head.weight"].shape.push_back(1);
    tensors["conv_head.weight"].shape.push_back(1);
  }
  testing_io::write_file(path, make_safetensors(tensors, {{"arch", to_string(arch)},
                                                          {"width", std::to_string(o.width)}}));
  return m;
}

void expect_same_logits(const Model& a, const Model& b, int64_t size = 64) {
  Tensor x({1, size, size, 3});
  for (int64_t i = 0; i < x.numel(); ++i)
    x.data()[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)));
  Workspace wa = a.workspace({1, size, size, 1}), wb = b.workspace({1, size, size, 1});
  const ConstTensorView ya = a.forward(x, wa), yb = b.forward(x, wb);
  ASSERT_EQ(ya.numel(), yb.numel());
  EXPECT_EQ(std::memcmp(ya.data, yb.data, sizeof(float) * static_cast<size_t>(ya.numel())), 0);
}

TEST(TimmScheme, DetectsTimmFilesAndLoadsThemWithTimmsDefinition) {
  for (Arch arch : {Arch::V1, Arch::V2, Arch::V3Large, Arch::V3Small}) {
    SCOPED_TRACE(to_string(arch));
    const double width = arch == Arch::V1 ? 0.25 : 0.75;
    const std::string path = timm_temp_path(std::string(to_string(arch)) + ".safetensors");
    const Model written = write_timm_file(path, arch, timm(width, 1000));
    const Model loaded = load(path);  // scheme detected from 'conv_stem.weight'
    EXPECT_EQ(loaded.spec().scheme, Scheme::Timm);
    EXPECT_EQ(loaded.num_classes(), 1000);  // from timm's classifier.weight
    expect_same_logits(written, loaded);
    LoadOptions forced;
    forced.scheme = Scheme::Timm;
    expect_same_logits(written, load(path, forced));
  }
  // conv_head stored as a Linear [out, in] is accepted as well.
  const std::string path = timm_temp_path("linear_head.safetensors");
  const Model written = write_timm_file(path, Arch::V3Small, timm(1.0, 1000), true);
  expect_same_logits(written, load(path));
  // The summary says whose definition it is.
  EXPECT_NE(written.summary(224, 224).find("mobilenet v3_small (timm) width 1"), std::string::npos);
}

TEST(TimmScheme, UndecidableOrContradictedSchemesAreErrorsNamingFileAndKeys) {
  const std::vector<float> stem(16 * 27, 0.1f);
  const auto file = [&](const std::string& name, const std::map<std::string, NamedTensor>& t) {
    const std::string path = timm_temp_path(name);
    testing_io::write_file(path, make_safetensors(t, {{"arch", "v3_small"}}));
    return path;
  };
  const std::string neither =
      file("neither.safetensors", {{"stem.conv.weight", {{16, 3, 3, 3}, stem}}});
  expect_error_containing(
      [&] { load(neither); },
      {neither + ": cannot tell the key-name scheme: the file holds neither torchvision's "
                 "'features.0.0.weight' nor timm's 'conv_stem.weight'"});
  const std::string both = file("both.safetensors", {{"features.0.0.weight", {{16, 3, 3, 3}, stem}},
                                                     {"conv_stem.weight", {{16, 3, 3, 3}, stem}}});
  expect_error_containing(
      [&] { load(both); },
      {both + ": cannot tell the key-name scheme: the file holds both torchvision's "
              "'features.0.0.weight' and timm's 'conv_stem.weight'; pass one (--scheme"});
  LoadOptions timm_forced, tv_forced;
  timm_forced.scheme = Scheme::Timm;
  tv_forced.scheme = Scheme::Torchvision;
  // Forcing one scheme over two markers picks it; the other's tensors are then unexpected.
  expect_error_containing(
      [&] { load(both, timm_forced); },
      {both + ": weights do not match mobilenet v3_small (timm) width 1",
       "unexpected tensor 'features.0.0.weight'", "missing tensor 'blocks.0.0.conv_dw.weight'"});
  const std::string tv = file("tv.safetensors", {{"features.0.0.weight", {{16, 3, 3, 3}, stem}}});
  expect_error_containing(
      [&] { load(tv, timm_forced); },
      {tv + ": key-name scheme timm was asked for (--scheme) but the file has no "
            "'conv_stem.weight'; its keys look like torchvision's 'features.0.0.weight'"});
  const std::string tm = file("timm.safetensors", {{"conv_stem.weight", {{16, 3, 3, 3}, stem}}});
  expect_error_containing(
      [&] { load(tm, tv_forced); },
      {tm + ": key-name scheme torchvision was asked for (--scheme) but the file has no "
            "'features.0.0.weight'; its keys look like timm's 'conv_stem.weight'"});
  // A timm file loaded under the arch it is not: named, timm's key names in the report.
  expect_error_containing(
      [&] { load(tm); },
      {tm + ": weights do not match mobilenet v3_small (timm) width 1 with 1000 classes",
       "missing tensor 'blocks.5.0.conv.weight'", "missing tensor 'conv_head.weight'"});
  EXPECT_EQ(parse_scheme("timm"), Scheme::Timm);
  expect_error_containing([] { parse_scheme("keras"); },
                          {"unknown key-name scheme 'keras' (expected torchvision or timm)"});
}

// --- FIXTURES/timm, written by tests/to_timm_keys.py ---

const std::string kTimmFixtures = std::string(MOBILENET_FIXTURES_DIR) + "/timm";

struct TimmCase {
  std::string name, arch;
  double width;
  int classes;
  int64_t batch, height, width_px;
  std::string torchvision_case;  // "-": none
};

std::vector<TimmCase> timm_cases() {
  std::ifstream f(kTimmFixtures + "/cases.txt");
  if (!f)
    throw Error(kTimmFixtures + "/cases.txt missing: run tests/to_timm_keys.py (ctest runs it)");
  std::vector<TimmCase> out;
  TimmCase c;
  while (f >> c.name >> c.arch >> c.width >> c.classes >> c.batch >> c.height >> c.width_px >>
         c.torchvision_case)
    out.push_back(c);
  return out;
}

Tensor nhwc_input(const std::string& path, const TimmCase& c) {
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{c.batch, 3, c.height, c.width_px}));
  Tensor t({c.batch, c.height, c.width_px, 3});
  nchw_to_nhwc(a.data.data(), t);
  return t;
}

TEST(TimmParity, RenamedTorchvisionFilesGiveBitIdenticalLogits) {
  // The acceptance check of the key mapping: the same numbers under timm's names, read through
  // timm_keys into the same network, give the same logits bit for bit, and no tensor is left over.
  int renamed = 0;
  for (const TimmCase& c : timm_cases()) {
    if (c.torchvision_case == "-") continue;
    SCOPED_TRACE(c.name);
    ++renamed;
    const std::string tv_path =
        std::string(MOBILENET_FIXTURES_DIR) + "/" + c.torchvision_case + "/weights.safetensors";
    const Model tv = load(tv_path);
    EXPECT_EQ(tv.spec().scheme, Scheme::Torchvision);
    const SafetensorsFile file =
        SafetensorsFile::open(kTimmFixtures + "/" + c.name + "/weights.safetensors");
    SafetensorsWeights weights(file);
    const Model renamed_model(tv.spec(), weights, timm_keys(tv.spec()));
    weights.check_complete("timm-named " + c.name);
    const Tensor x = nhwc_input(kTimmFixtures + "/" + c.name + "/input.npy", c);
    const std::vector<float> a = run(tv, x), b = run(renamed_model, x);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
    if (c.arch == "v2") {  // timm's V2 is torchvision's: load() itself gives the same bits
      const std::vector<float> loaded =
          run(load(kTimmFixtures + "/" + c.name + "/weights.safetensors"), x);
      EXPECT_EQ(std::memcmp(a.data(), loaded.data(), a.size() * sizeof(float)), 0);
    }
  }
  EXPECT_EQ(renamed, 4) << "one width-1.0 case per architecture";
}

TEST(TimmParity, TimmFilesMatchTorchRunningTimmsDefinition) {
  // load() detects timm's names and builds timm's network (V1 ReLU6, V3 eps 1e-5, timm's channel
  // counts at 0.75); torch ran the same definition. Tolerance as in test_parity.cpp.
  for (const TimmCase& c : timm_cases()) {
    SCOPED_TRACE(c.name);
    const std::string dir = kTimmFixtures + "/" + c.name;
    const Model m = load(dir + "/weights.safetensors");
    EXPECT_EQ(m.spec().scheme, Scheme::Timm);
    EXPECT_EQ(m.num_classes(), c.classes);
    const std::vector<float> got = run(m, nhwc_input(dir + "/input.npy", c));
    const NpyArray expected = read_npy(dir + "/expected.npy");
    ASSERT_EQ(expected.shape, (std::vector<int64_t>{c.batch, c.classes}));
    double max_ref = 0, max_diff = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      max_ref = std::max(max_ref, std::abs(double(expected.data[i])));
      max_diff = std::max(max_diff, std::abs(double(got[i]) - expected.data[i]));
    }
    const double tolerance = 1e-4 * std::max(1.0, max_ref);
    EXPECT_LE(max_diff, tolerance);
    std::printf("[timm] %-28s max|ref| %9.4f  max|diff| %.3g  (tolerance %.3g)\n", c.name.c_str(),
                max_ref, max_diff, tolerance);
  }
}

// --- FIXTURES/timm_tf, written by tests/make_timm_tf_fixtures.py ---
// timm's six TensorFlow ports in the hub layout (model.safetensors without metadata, config.json
// beside it): load() must take architecture, width, TensorFlow's padding, BatchNorm eps 1e-3, the
// minimal variant and the preprocessing from config.json alone; the reference is torch running
// timm's definition of each. Same tolerance as test_parity.cpp; 1 and 2 threads bit-identical;
// the same files with PyTorch's symmetric padding must break the tolerance.

const std::string kTimmTfFixtures = std::string(MOBILENET_FIXTURES_DIR) + "/timm_tf";

struct TimmTfCase {
  std::string model, input;
  int64_t batch, height, width;
};

std::vector<TimmTfCase> timm_tf_cases() {
  std::ifstream f(kTimmTfFixtures + "/cases.txt");
  if (!f)
    throw Error(kTimmTfFixtures +
                "/cases.txt missing: run tests/make_timm_tf_fixtures.py (ctest runs it)");
  std::vector<TimmTfCase> out;
  TimmTfCase c;
  while (f >> c.model >> c.input >> c.batch >> c.height >> c.width) out.push_back(c);
  return out;
}

TEST(TimmTf, HubFilesLoadFromConfigJsonAndMatchTorch) {
  const auto cases = timm_tf_cases();
  ASSERT_EQ(cases.size(), 12u) << "six tf_ models at two input sizes";
  for (const TimmTfCase& c : cases) {
    SCOPED_TRACE(c.model + " " + c.input);
    const std::string dir = kTimmTfFixtures + "/" + c.model;
    const Model m = load(dir + "/model.safetensors");
    const TimmModel expected_model = timm_model(c.model);
    EXPECT_EQ(m.arch(), expected_model.arch);
    EXPECT_EQ(m.spec().scheme, Scheme::Timm);
    EXPECT_EQ(m.spec().padding, PaddingMode::TfSame);
    EXPECT_EQ(m.spec().bn_eps, 1e-3);
    EXPECT_EQ(m.spec().width, expected_model.options.width);
    EXPECT_EQ(m.num_classes(), 1000);
    // config.json's pretrained_cfg: 224, crop_pct 0.875 -> resize 256, mean = std = 0.5.
    EXPECT_EQ(m.metadata().input_size, 224);
    EXPECT_EQ(m.metadata().resize_size, 256);
    EXPECT_EQ(m.metadata().mean[1], 0.5f);
    EXPECT_EQ(m.metadata().std[2], 0.5f);
    const Tensor x = [&] {
      const NpyArray a = read_npy(dir + "/input_" + c.input + ".npy");
      EXPECT_EQ(a.shape, (std::vector<int64_t>{c.batch, 3, c.height, c.width}));
      Tensor t({c.batch, c.height, c.width, 3});
      nchw_to_nhwc(a.data.data(), t);
      return t;
    }();
    const NpyArray expected = read_npy(dir + "/expected_" + c.input + ".npy");
    const std::vector<float> got = run(m, x);
    const Deviation d = deviation(got, expected);
    EXPECT_LE(d.max_diff, d.tolerance());
    std::printf("[timm_tf] %-34s %-8s max|ref| %8.4f  max|diff| %.3g  (tolerance %.3g)\n",
                c.model.c_str(), c.input.c_str(), d.max_ref, d.max_diff, d.tolerance());
    Workspace ws2 = m.workspace({c.batch, c.height, c.width, 2});
    const ConstTensorView y2 = m.forward(x, ws2);
    EXPECT_EQ(std::memcmp(got.data(), y2.data, got.size() * sizeof(float)), 0) << "2 threads";

    LoadOptions symmetric;
    symmetric.padding = PaddingMode::Torch;
    const Deviation off = deviation(run(load(dir + "/model.safetensors", symmetric), x), expected);
    EXPECT_GT(off.max_diff, off.tolerance()) << "symmetric padding passed";
  }
}

TEST(TimmTf, WithoutConfigJsonTheNameIsAskedForNotGuessed) {
  const std::string file = kTimmTfFixtures + "/no_config/model.safetensors";
  expect_error_containing(
      [&] { load(file); },
      {file + ": the file's metadata names no architecture", "--timm-arch", "config.json"});
  LoadOptions o;
  o.timm_arch = "tf_mobilenetv3_small_100";
  const Model m = load(file, o);
  EXPECT_EQ(m.spec().padding, PaddingMode::TfSame);
  const TimmTfCase c{"tf_mobilenetv3_small_100", "224", 1, 224, 224};
  const std::string dir = kTimmTfFixtures + "/" + c.model;
  const NpyArray a = read_npy(dir + "/input_224.npy");
  Tensor x({1, 224, 224, 3});
  nchw_to_nhwc(a.data.data(), x);
  const Deviation d = deviation(run(m, x), read_npy(dir + "/expected_224.npy"));
  EXPECT_LE(d.max_diff, d.tolerance());
  o.timm_arch = "tf_mobilenetv3_small_101";
  expect_error_containing([&] { load(file, o); }, {"unknown timm model 'tf_mobilenetv3_small_101'",
                                                   "tf_mobilenetv3_small_minimal_100"});
}

TEST(TimmTf, ConfigJsonKeepsTheVariantWhenArchIsGivenAndRefusesAContradiction) {
  const std::string dir = kTimmTfFixtures + "/tf_mobilenetv3_small_100";
  const std::string file = dir + "/model.safetensors";
  LoadOptions o;
  o.arch = Arch::V3Small;  // agrees with config.json: its tf_ variant must survive
  const Model m = load(file, o);
  EXPECT_EQ(m.spec().padding, PaddingMode::TfSame);
  EXPECT_EQ(m.spec().bn_eps, 1e-3);
  const NpyArray a = read_npy(dir + "/input_224.npy");
  Tensor x({1, 224, 224, 3});
  nchw_to_nhwc(a.data.data(), x);
  const Deviation d = deviation(run(m, x), read_npy(dir + "/expected_224.npy"));
  EXPECT_LE(d.max_diff, d.tolerance());

  o.arch = Arch::V3Large;
  expect_error_containing(
      [&] { load(file, o); },
      {file + ": --arch v3_large contradicts timm's tf_mobilenetv3_small_100", "config.json"});
  LoadOptions named;
  named.timm_arch = "tf_mobilenetv3_small_075";
  expect_error_containing(
      [&] { load(file, named); },
      {"--timm-arch tf_mobilenetv3_small_075 contradicts", "names tf_mobilenetv3_small_100"});
  named.timm_arch = "tf_mobilenetv3_small_100";
  EXPECT_EQ(load(file, named).spec().padding, PaddingMode::TfSame);
}

TEST(TimmTf, MinimalVariantsHaveNoSqueezeExciteNoHardSwishAndOnly3x3) {
  for (const char* name :
       {"tf_mobilenetv3_large_minimal_100", "tf_mobilenetv3_small_minimal_100"}) {
    SCOPED_TRACE(name);
    const TimmModel t = timm_model(name);
    const NetworkSpec s = make_spec(t.arch, t.options);
    EXPECT_EQ(s.stem_act, Activation::ReLU);
    EXPECT_EQ(s.last_conv_act, Activation::ReLU);
    EXPECT_EQ(s.hidden_act, Activation::ReLU);
    for (const BlockSpec& b : s.blocks) {
      EXPECT_EQ(b.kernel, 3);
      EXPECT_EQ(b.squeeze, 0);
      EXPECT_EQ(b.act, Activation::ReLU);
    }
  }
  ModelOptions o;
  o.minimal = true;
  expect_error_containing([&] { make_spec(Arch::V2, o); },
                          {"the minimal variant exists for MobileNetV3 only, not v2"});
}

}  // namespace
