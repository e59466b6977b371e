// nvc CUDA kernels: plain launchers with no PyTorch types, so kernels.cu compiles without
// the PyTorch headers (fast) and bindings.cpp owns every tensor check.
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

namespace nvc {

enum DType : int { F32 = 0, F16 = 1, BF16 = 2 };
enum Act : int { ACT_NONE = 0, ACT_GELU = 1, ACT_RELU = 2, ACT_SILU = 3 };

// Frames outside which a tile's positions are zeroed (what zero padding of the whole frame sees).
// origins: (N, 2) int32 (top, left) of each sample in frame coordinates at this resolution;
// null for no mask.
struct Mask {
  const int32_t* origins;
  int height, width;
};

// y = act(pixel_shuffle(x + bias, r)), masked.  x: (N, C*r*r, H, W) with any strides;
// y: (N, C, H*r, W*r), contiguous in NCHW or channels-last order (channels_last).
struct ShuffleArgs {
  const void* x;
  const float* bias;  // (C*r*r) float32 or null
  void* y;
  int N, C, H, W, r;
  int64_t xs[4];  // strides of x in elements: n, c, h, w
  bool channels_last;
  Mask mask;
  int act, dtype;
};

// y = act(depthwise_k(x) + bias); k odd, stride 1, zero padding k/2.  Same shape as x.
struct DepthwiseArgs {
  const void* x;
  const float* weight;  // (k*k, C) float32, tap-major
  const float* bias;    // (C) float32 or null
  void* y;
  int N, C, H, W, k;
  int64_t xs[4];
  bool channels_last;
  int act, dtype;
};

// y = residual + (p + bias), masked.
struct ResidualArgs {
  const void* p;
  const void* res;
  const float* bias;
  void* y;
  int N, C, H, W;
  int64_t ps[4], rs[4];
  bool channels_last;
  Mask mask;
  int dtype;
};

// Batched tiles -> uint8 frames: out[f, Y, X, c] = round(clamp(head + hbias + bilinear_r(skip[f]) + 0.5))
// for each sample's core rectangle.  placements: (B, 7) int32 frame, oy, ox, y0, x0, y1, x1.
struct ComposeArgs {
  const void* head;  // (B, 3, th, tw)
  const float* bias;
  const void* skip;  // (F, 3, sh, sw)
  uint8_t* out;      // (F, H, W, 3) contiguous
  const int32_t* placements;
  int B, th, tw, sh, sw, F, H, W, core_h, core_w;
  int64_t hs[4], ss[4];
  float scale;  // 1 / r as PyTorch's bilinear computes it
  int dtype;
};

// out[y, x, c] = round(clamp(body + bias + skip + offset, 0, 1) * 255) for a (3, h, w) body.
struct Uint8Args {
  const void* body;
  const void* skip;  // same shape as body, or null
  const float* bias;
  uint8_t* out;
  int h, w;
  int64_t bs[3], ss[3], os[3];  // strides: body/skip (c, y, x); out (y, x, c)
  float offset;
  int dtype;
};

cudaError_t shuffle_bias_act(const ShuffleArgs& a, cudaStream_t stream);
cudaError_t depthwise_bias_act(const DepthwiseArgs& a, cudaStream_t stream);
cudaError_t bias_residual(const ResidualArgs& a, cudaStream_t stream);
cudaError_t compose_frames(const ComposeArgs& a, cudaStream_t stream);
cudaError_t to_uint8_frame(const Uint8Args& a, cudaStream_t stream);

}  // namespace nvc
