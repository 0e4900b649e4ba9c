// Eigen views over the raw fp32 arrays the kernels take. Internal to exec/*.cc: public headers
// stay free of Eigen so callers need not agree on its configuration.
#pragma once

#include <Eigen/Core>

namespace paci::exec {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapMat = Eigen::Map<RowMat>;
using ConstMapMat = Eigen::Map<const RowMat>;
using MapVec = Eigen::Map<Eigen::RowVectorXf>;
using ConstMapVec = Eigen::Map<const Eigen::RowVectorXf>;
// A (rows, cols) block inside a wider row-major array (q, k, v inside qkv; one head's columns).
using StridedMat = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
using ConstStridedMat = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;

}  // namespace paci::exec
