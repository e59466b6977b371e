// nvc fused CUDA kernels for the decoder's memory-bound passes.
//
// Every kernel reads its inputs through explicit strides (NCHW, channels-last or a crop view),
// computes in float32 and writes one output in a dense layout.  Where PyTorch rounds an
// intermediate to the tensor's dtype (conv output + bias, the residual's pointwise branch), the
// kernels round it too, so fp16/bf16 results track the unfused PyTorch composition closely.
// Indices are int32 (offsets through strides int64): tensors of 2^31 elements or more go to the
// PyTorch fallback.

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "nvc_kernels.h"

namespace nvc {
namespace {

constexpr int kThreads = 256;

template <typename T> __device__ __forceinline__ float to_f(T v);
template <> __device__ __forceinline__ float to_f<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_f<__half>(__half v) { return __half2float(v); }
template <> __device__ __forceinline__ float to_f<__nv_bfloat16>(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T from_f(float v);
template <> __device__ __forceinline__ float from_f<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// Round to the storage type and back: what PyTorch does between two separate passes.
template <typename T> __device__ __forceinline__ float round_to(float v) { return to_f<T>(from_f<T>(v)); }

// The activations exactly as PyTorch's CUDA kernels write them (GELU: erf form).
__device__ __forceinline__ float activate(float x, int act) {
  switch (act) {
    case ACT_GELU: return x * 0.5f * (1.0f + erff(x * 0.70710678118654752440f));
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_SILU: return x / (1.0f + expf(-x));
    default: return x;
  }
}

// Dense outputs are walked row by row: blockIdx.y picks a row, threads run along it, so the
// divisions that locate an element happen once per row, not per element.  A row is (n, h) in
// channels-last order (W * C values, channel fastest) or (n, c, h) in NCHW order (W values).
struct Rows {
  int rows, len;
};

template <bool CL>
__host__ __device__ __forceinline__ Rows rows_of(int N, int C, int H, int W) {
  return CL ? Rows{N * H, W * C} : Rows{N * C * H, W};
}

// Row -> (n, c, h); c is meaningful in NCHW order only (channels-last rows hold every channel).
template <bool CL>
__device__ __forceinline__ void row_coords(int row, int C, int H, int& n, int& c, int& h) {
  if (CL) {
    n = row / H; h = row - n * H; c = 0;
  } else {
    const int t = row / H;
    h = row - t * H; n = t / C; c = t - n * C;
  }
}

// Element of a row -> (c, w).
template <bool CL>
__device__ __forceinline__ void col_coords(int e, int C, int c_row, int& c, int& w) {
  if (CL) {
    w = e / C; c = e - w * C;
  } else {
    w = e; c = c_row;
  }
}

// Columns [col0, col1) of row h of sample n that lie inside the frame; false if the row lies
// outside it.  Without a mask every position is inside.
__device__ __forceinline__ bool inside_columns(const Mask& mask, int n, int h, int W, int& col0, int& col1) {
  if (mask.origins == nullptr) {
    col0 = 0; col1 = W;
    return true;
  }
  const int fr = mask.origins[2 * n] + h, fc = mask.origins[2 * n + 1];
  col0 = -fc; col1 = mask.width - fc;
  return fr >= 0 && fr < mask.height;
}

dim3 grid_for_rows(Rows r) {
  const int x = (r.len + kThreads - 1) / kThreads;
  const int y = r.rows < 65535 ? r.rows : 65535;  // grid.y limit: rows beyond it loop
  return dim3(x > 0 ? x : 1, y > 0 ? y : 1);
}

// ---------------------------------------------------------------- bias + PixelShuffle + act
template <typename T, bool CL>
__global__ void __launch_bounds__(kThreads)
shuffle_kernel(const T* __restrict__ x, const float* __restrict__ bias, T* __restrict__ y, int N, int C,
               int H, int W, int r, int64_t s0, int64_t s1, int64_t s2, int64_t s3, Mask mask, int act) {
  const int OH = H * r, OW = W * r;
  const Rows R = rows_of<CL>(N, C, OH, OW);
  for (int row = blockIdx.y; row < R.rows; row += gridDim.y) {
    int n, c_row, oh;
    row_coords<CL>(row, C, OH, n, c_row, oh);
    const int h = oh / r, i = oh - h * r;
    int col0, col1;
    const bool row_inside = inside_columns(mask, n, oh, OW, col0, col1);
    const T* xrow = x + n * s0 + h * s2;
    T* yrow = y + static_cast<int64_t>(row) * R.len;
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < R.len; e += gridDim.x * blockDim.x) {
      int c, ow;
      col_coords<CL>(e, C, c_row, c, ow);
      float v = 0.0f;
      if (row_inside && ow >= col0 && ow < col1) {
        const int w = ow / r, j = ow - w * r;
        const int k = (c * r + i) * r + j;
        v = to_f(xrow[k * s1 + w * s3]);
        if (bias != nullptr) v = round_to<T>(v + bias[k]);
        v = activate(v, act);
      }
      yrow[e] = from_f<T>(v);
    }
  }
}

template <typename T>
cudaError_t launch_shuffle(const ShuffleArgs& a, cudaStream_t stream) {
  if (static_cast<int64_t>(a.N) * a.C * a.H * a.W * a.r == 0) return cudaSuccess;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  if (a.channels_last)
    shuffle_kernel<T, true><<<grid_for_rows(rows_of<true>(a.N, a.C, a.H * a.r, a.W * a.r)), kThreads, 0, stream>>>(
        x, a.bias, y, a.N, a.C, a.H, a.W, a.r, a.xs[0], a.xs[1], a.xs[2], a.xs[3], a.mask, a.act);
  else
    shuffle_kernel<T, false><<<grid_for_rows(rows_of<false>(a.N, a.C, a.H * a.r, a.W * a.r)), kThreads, 0, stream>>>(
        x, a.bias, y, a.N, a.C, a.H, a.W, a.r, a.xs[0], a.xs[1], a.xs[2], a.xs[3], a.mask, a.act);
  return cudaGetLastError();
}

// ---------------------------------------------------------------- depthwise k x k + bias + act
template <typename T, bool CL, int KT>
__global__ void __launch_bounds__(kThreads)
depthwise_kernel(const T* __restrict__ x, const float* __restrict__ weight, const float* __restrict__ bias,
                 T* __restrict__ y, int N, int C, int H, int W, int k_runtime, int64_t s0, int64_t s1, int64_t s2,
                 int64_t s3, int act) {
  const int K = KT > 0 ? KT : k_runtime;
  const int P = K / 2;
  const Rows R = rows_of<CL>(N, C, H, W);
  for (int row = blockIdx.y; row < R.rows; row += gridDim.y) {
    int n, c_row, h;
    row_coords<CL>(row, C, H, n, c_row, h);
    const T* xn = x + n * s0;
    T* yrow = y + static_cast<int64_t>(row) * R.len;
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < R.len; e += gridDim.x * blockDim.x) {
      int c, w;
      col_coords<CL>(e, C, c_row, c, w);
      const T* xc = xn + c * s1;
      float acc = 0.0f;
      // KT > 0: fully unrolled k x k; KT == 0: any odd k up to 7 (MAX_KERNEL), loops cut at k.
#pragma unroll
      for (int dy = 0; dy < (KT > 0 ? KT : 7); ++dy) {
        if (KT == 0 && dy >= K) break;
        const int ih = h + dy - P;
        if (ih < 0 || ih >= H) continue;
#pragma unroll
        for (int dx = 0; dx < (KT > 0 ? KT : 7); ++dx) {
          if (KT == 0 && dx >= K) break;
          const int iw = w + dx - P;
          if (iw < 0 || iw >= W) continue;
          acc = fmaf(weight[(dy * K + dx) * C + c], to_f(xc[ih * s2 + iw * s3]), acc);
        }
      }
      acc = round_to<T>(acc);
      if (bias != nullptr) acc = round_to<T>(acc + bias[c]);
      yrow[e] = from_f<T>(activate(acc, act));
    }
  }
}

template <typename T, int KT>
void launch_depthwise_k(const DepthwiseArgs& a, cudaStream_t stream) {
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  if (a.channels_last)
    depthwise_kernel<T, true, KT><<<grid_for_rows(rows_of<true>(a.N, a.C, a.H, a.W)), kThreads, 0, stream>>>(
        x, a.weight, a.bias, y, a.N, a.C, a.H, a.W, a.k, a.xs[0], a.xs[1], a.xs[2], a.xs[3], a.act);
  else
    depthwise_kernel<T, false, KT><<<grid_for_rows(rows_of<false>(a.N, a.C, a.H, a.W)), kThreads, 0, stream>>>(
        x, a.weight, a.bias, y, a.N, a.C, a.H, a.W, a.k, a.xs[0], a.xs[1], a.xs[2], a.xs[3], a.act);
}

template <typename T>
cudaError_t launch_depthwise(const DepthwiseArgs& a, cudaStream_t stream) {
  if (static_cast<int64_t>(a.N) * a.C * a.H * a.W == 0) return cudaSuccess;
  if (a.k == 3)
    launch_depthwise_k<T, 3>(a, stream);
  else
    launch_depthwise_k<T, 0>(a, stream);
  return cudaGetLastError();
}

// ---------------------------------------------------------------- residual + (pointwise + bias), masked
template <typename T, bool CL>
__global__ void __launch_bounds__(kThreads)
residual_kernel(const T* __restrict__ p, const T* __restrict__ res, const float* __restrict__ bias,
                T* __restrict__ y, int N, int C, int H, int W, int64_t p0, int64_t p1, int64_t p2, int64_t p3,
                int64_t r0, int64_t r1, int64_t r2, int64_t r3, Mask mask) {
  const Rows R = rows_of<CL>(N, C, H, W);
  for (int row = blockIdx.y; row < R.rows; row += gridDim.y) {
    int n, c_row, h;
    row_coords<CL>(row, C, H, n, c_row, h);
    int col0, col1;
    const bool row_inside = inside_columns(mask, n, h, W, col0, col1);
    const T* prow = p + n * p0 + h * p2;
    const T* rrow = res + n * r0 + h * r2;
    T* yrow = y + static_cast<int64_t>(row) * R.len;
    for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < R.len; e += gridDim.x * blockDim.x) {
      int c, w;
      col_coords<CL>(e, C, c_row, c, w);
      float v = 0.0f;
      if (row_inside && w >= col0 && w < col1) {
        float branch = to_f(prow[c * p1 + w * p3]);
        if (bias != nullptr) branch = round_to<T>(branch + bias[c]);
        v = to_f(rrow[c * r1 + w * r3]) + branch;
      }
      yrow[e] = from_f<T>(v);
    }
  }
}

template <typename T>
cudaError_t launch_residual(const ResidualArgs& a, cudaStream_t stream) {
  if (static_cast<int64_t>(a.N) * a.C * a.H * a.W == 0) return cudaSuccess;
  const T* p = static_cast<const T*>(a.p);
  const T* res = static_cast<const T*>(a.res);
  T* y = static_cast<T*>(a.y);
  if (a.channels_last)
    residual_kernel<T, true><<<grid_for_rows(rows_of<true>(a.N, a.C, a.H, a.W)), kThreads, 0, stream>>>(
        p, res, a.bias, y, a.N, a.C, a.H, a.W, a.ps[0], a.ps[1], a.ps[2], a.ps[3], a.rs[0], a.rs[1], a.rs[2], a.rs[3],
        a.mask);
  else
    residual_kernel<T, false><<<grid_for_rows(rows_of<false>(a.N, a.C, a.H, a.W)), kThreads, 0, stream>>>(
        p, res, a.bias, y, a.N, a.C, a.H, a.W, a.ps[0], a.ps[1], a.ps[2], a.ps[3], a.rs[0], a.rs[1], a.rs[2], a.rs[3],
        a.mask);
  return cudaGetLastError();
}

// ---------------------------------------------------------------- float -> uint8 pixel
__device__ __forceinline__ uint8_t to_pixel(float v) {
  v = fminf(fmaxf(v, 0.0f), 1.0f) * 255.0f;  // NaN -> 0
  return static_cast<uint8_t>(rintf(v));     // round half to even, like torch.round
}

// ---------------------------------------------------------------- tiles -> frames (head + skip + 0.5)
template <typename T>
__global__ void compose_kernel(const T* __restrict__ head, const float* __restrict__ bias, const T* __restrict__ skip,
                               uint8_t* __restrict__ out, const int32_t* __restrict__ placements, int b0, int sh, int sw,
                               int H, int W, int64_t h0, int64_t h1, int64_t h2, int64_t h3, int64_t q0, int64_t q1,
                               int64_t q2, int64_t q3, float scale) {
  const int b = b0 + blockIdx.z;
  const int32_t* pl = placements + 7 * b;
  const int f = pl[0], oy = pl[1], ox = pl[2];
  const int Y = pl[3] + blockIdx.y * blockDim.y + threadIdx.y;
  const int X = pl[4] + blockIdx.x * blockDim.x + threadIdx.x;
  if (Y >= pl[5] || X >= pl[6]) return;
  // Bilinear source position exactly as PyTorch's upsample_bilinear2d (align_corners=False).
  float sy = scale * (static_cast<float>(Y) + 0.5f) - 0.5f;
  sy = sy < 0.0f ? 0.0f : sy;
  const int iy = static_cast<int>(sy);
  const int py = iy < sh - 1 ? 1 : 0;
  const float ly1 = sy - iy, ly0 = 1.0f - ly1;
  float sx = scale * (static_cast<float>(X) + 0.5f) - 0.5f;
  sx = sx < 0.0f ? 0.0f : sx;
  const int ix = static_cast<int>(sx);
  const int px = ix < sw - 1 ? 1 : 0;
  const float lx1 = sx - ix, lx0 = 1.0f - lx1;
  const T* hp = head + b * h0 + (Y - oy) * h2 + (X - ox) * h3;
  const T* sp = skip + f * q0;
  uint8_t* o = out + (static_cast<int64_t>(f) * H + Y) * static_cast<int64_t>(W) * 3 + static_cast<int64_t>(X) * 3;
#pragma unroll
  for (int c = 0; c < 3; ++c) {
    float body = to_f(hp[c * h1]);
    if (bias != nullptr) body = round_to<T>(body + bias[c]);
    const T* s = sp + c * q1;
    const float s00 = to_f(s[iy * q2 + ix * q3]), s01 = to_f(s[iy * q2 + (ix + px) * q3]);
    const float s10 = to_f(s[(iy + py) * q2 + ix * q3]), s11 = to_f(s[(iy + py) * q2 + (ix + px) * q3]);
    const float up = ly0 * (lx0 * s00 + lx1 * s01) + ly1 * (lx0 * s10 + lx1 * s11);
    o[c] = to_pixel(body + up + 0.5f);
  }
}

template <typename T>
cudaError_t launch_compose(const ComposeArgs& a, cudaStream_t stream) {
  if (a.B == 0 || a.core_h <= 0 || a.core_w <= 0) return cudaSuccess;
  const dim3 block(32, 8);
  constexpr int kMaxZ = 65535;  // grid.z limit: larger batches go in several launches
  for (int b0 = 0; b0 < a.B; b0 += kMaxZ) {
    const dim3 grid((a.core_w + 31) / 32, (a.core_h + 7) / 8, a.B - b0 < kMaxZ ? a.B - b0 : kMaxZ);
    compose_kernel<T><<<grid, block, 0, stream>>>(static_cast<const T*>(a.head), a.bias,
                                                  static_cast<const T*>(a.skip), a.out, a.placements, b0, a.sh, a.sw,
                                                  a.H, a.W, a.hs[0], a.hs[1], a.hs[2], a.hs[3], a.ss[0], a.ss[1],
                                                  a.ss[2], a.ss[3], a.scale);
    const cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) return err;
  }
  return cudaSuccess;
}

// ---------------------------------------------------------------- (3, h, w) float -> (h, w, 3) uint8
template <typename T>
__global__ void uint8_kernel(const T* __restrict__ body, const T* __restrict__ skip, const float* __restrict__ bias,
                             uint8_t* __restrict__ out, int h, int w, int64_t b0, int64_t b1, int64_t b2, int64_t k0,
                             int64_t k1, int64_t k2, int64_t o0, int64_t o1, int64_t o2, float offset) {
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  if (y >= h || x >= w) return;
#pragma unroll
  for (int c = 0; c < 3; ++c) {
    float v = to_f(body[c * b0 + y * b1 + x * b2]);
    if (bias != nullptr) v = round_to<T>(v + bias[c]);
    if (skip != nullptr) v += to_f(skip[c * k0 + y * k1 + x * k2]);
    out[y * o0 + x * o1 + c * o2] = to_pixel(v + offset);
  }
}

template <typename T>
cudaError_t launch_uint8(const Uint8Args& a, cudaStream_t stream) {
  if (a.h == 0 || a.w == 0) return cudaSuccess;
  const dim3 block(32, 8);
  const dim3 grid((a.w + 31) / 32, (a.h + 7) / 8);
  uint8_kernel<T><<<grid, block, 0, stream>>>(static_cast<const T*>(a.body), static_cast<const T*>(a.skip), a.bias,
                                              a.out, a.h, a.w, a.bs[0], a.bs[1], a.bs[2], a.ss[0], a.ss[1], a.ss[2],
                                              a.os[0], a.os[1], a.os[2], a.offset);
  return cudaGetLastError();
}

}  // namespace

#define NVC_DISPATCH(dtype, fn, ...)                                   \
  switch (dtype) {                                                     \
    case F32: return fn<float>(__VA_ARGS__);                           \
    case F16: return fn<__half>(__VA_ARGS__);                          \
    case BF16: return fn<__nv_bfloat16>(__VA_ARGS__);                  \
    default: return cudaErrorInvalidValue;                             \
  }

cudaError_t shuffle_bias_act(const ShuffleArgs& a, cudaStream_t stream) { NVC_DISPATCH(a.dtype, launch_shuffle, a, stream) }
cudaError_t depthwise_bias_act(const DepthwiseArgs& a, cudaStream_t stream) { NVC_DISPATCH(a.dtype, launch_depthwise, a, stream) }
cudaError_t bias_residual(const ResidualArgs& a, cudaStream_t stream) { NVC_DISPATCH(a.dtype, launch_residual, a, stream) }
cudaError_t compose_frames(const ComposeArgs& a, cudaStream_t stream) { NVC_DISPATCH(a.dtype, launch_compose, a, stream) }
cudaError_t to_uint8_frame(const Uint8Args& a, cudaStream_t stream) { NVC_DISPATCH(a.dtype, launch_uint8, a, stream) }

}  // namespace nvc
