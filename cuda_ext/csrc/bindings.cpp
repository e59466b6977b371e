// Python bindings of the nvc fused kernels: tensor checks, output allocation, stream and device.

#include <torch/extension.h>

#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include <optional>

#include "nvc_kernels.h"

namespace {

using at::Tensor;
using OptTensor = std::optional<Tensor>;

constexpr int64_t kMaxElements = (int64_t{1} << 31) - 1;

int dtype_code(const Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return nvc::F32;
    case at::kHalf: return nvc::F16;
    case at::kBFloat16: return nvc::BF16;
    default: TORCH_CHECK(false, "nvc_cuda_ext: unsupported dtype ", t.scalar_type());
  }
  return -1;
}

void check_input(const Tensor& t, const char* name, int64_t dim) {
  TORCH_CHECK(t.is_cuda(), "nvc_cuda_ext: ", name, " must be a CUDA tensor");
  TORCH_CHECK(t.dim() == dim, "nvc_cuda_ext: ", name, " must have ", dim, " dimensions, got ", t.dim());
  TORCH_CHECK(t.numel() <= kMaxElements, "nvc_cuda_ext: ", name, " has 2^31 elements or more");
  dtype_code(t);
}

void check_same(const Tensor& a, const Tensor& b, const char* name) {
  TORCH_CHECK(b.device() == a.device(), "nvc_cuda_ext: ", name, " is on another device");
  TORCH_CHECK(b.scalar_type() == a.scalar_type(), "nvc_cuda_ext: ", name, " has another dtype");
}

// A bias (or weight) as a dense float32 vector of n values on the device of `like`.
Tensor float_vector(const OptTensor& t, int64_t n, const Tensor& like, const char* name) {
  if (!t.has_value() || !t->defined()) return Tensor();
  TORCH_CHECK(t->numel() == n, "nvc_cuda_ext: ", name, " must have ", n, " values, got ", t->numel());
  return t->to(like.device(), at::kFloat).contiguous();
}

const float* ptr_or_null(const Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

bool channels_last(const Tensor& t) { return t.suggest_memory_format() == at::MemoryFormat::ChannelsLast; }

at::MemoryFormat format_of(bool cl) { return cl ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous; }

void strides_of(const Tensor& t, int64_t* s) {
  for (int64_t d = 0; d < t.dim(); ++d) s[d] = t.stride(d);
}

nvc::Mask make_mask(const OptTensor& origins, int64_t n, int64_t height, int64_t width, const Tensor& like,
                    Tensor& keep_alive) {
  nvc::Mask m{nullptr, static_cast<int>(height), static_cast<int>(width)};
  if (!origins.has_value() || !origins->defined()) return m;
  TORCH_CHECK(origins->dim() == 2 && origins->size(0) == n && origins->size(1) == 2,
              "nvc_cuda_ext: origins must be (N, 2)");
  keep_alive = origins->to(like.device(), at::kInt).contiguous();
  m.origins = keep_alive.data_ptr<int32_t>();
  return m;
}

void check_launch(cudaError_t err, const char* what) {
  TORCH_CHECK(err == cudaSuccess, "nvc_cuda_ext: ", what, " failed: ", cudaGetErrorString(err));
}

int act_code(int64_t act) {
  TORCH_CHECK(act >= nvc::ACT_NONE && act <= nvc::ACT_SILU, "nvc_cuda_ext: unknown activation code ", act);
  return static_cast<int>(act);
}

Tensor shuffle_bias_act(const Tensor& x, const OptTensor& bias, int64_t r, int64_t act, const OptTensor& origins,
                        int64_t frame_h, int64_t frame_w) {
  check_input(x, "x", 4);
  TORCH_CHECK(r >= 1, "nvc_cuda_ext: upscale factor must be >= 1");
  TORCH_CHECK(x.size(1) % (r * r) == 0, "nvc_cuda_ext: channels ", x.size(1), " not divisible by r^2 = ", r * r);
  const c10::cuda::CUDAGuard guard(x.device());
  const int64_t N = x.size(0), C = x.size(1) / (r * r), H = x.size(2), W = x.size(3);
  const bool cl = channels_last(x);
  Tensor y = at::empty({N, C, H * r, W * r}, x.options().memory_format(format_of(cl)));
  Tensor b = float_vector(bias, x.size(1), x, "bias"), keep;
  nvc::ShuffleArgs a{};
  a.x = x.data_ptr();
  a.bias = ptr_or_null(b);
  a.y = y.data_ptr();
  a.N = N; a.C = C; a.H = H; a.W = W; a.r = r;
  strides_of(x, a.xs);
  a.channels_last = cl;
  a.mask = make_mask(origins, N, frame_h, frame_w, x, keep);
  a.act = act_code(act);
  a.dtype = dtype_code(x);
  check_launch(nvc::shuffle_bias_act(a, c10::cuda::getCurrentCUDAStream()), "shuffle_bias_act");
  return y;
}

Tensor depthwise_bias_act(const Tensor& x, const Tensor& weight, const OptTensor& bias, int64_t act) {
  check_input(x, "x", 4);
  const int64_t C = x.size(1);
  TORCH_CHECK(weight.dim() == 4 && weight.size(0) == C && weight.size(1) == 1 && weight.size(2) == weight.size(3),
              "nvc_cuda_ext: depthwise weight must be (C, 1, k, k)");
  const int64_t k = weight.size(2);
  TORCH_CHECK(k % 2 == 1 && k <= 7, "nvc_cuda_ext: depthwise kernel must be odd and at most 7, got ", k);
  const c10::cuda::CUDAGuard guard(x.device());
  Tensor w = weight.to(x.device(), at::kFloat).reshape({C, k * k}).t().contiguous();  // (k*k, C)
  Tensor b = float_vector(bias, C, x, "bias");
  const bool cl = channels_last(x);
  Tensor y = at::empty(x.sizes(), x.options().memory_format(format_of(cl)));
  nvc::DepthwiseArgs a{};
  a.x = x.data_ptr();
  a.weight = w.data_ptr<float>();
  a.bias = ptr_or_null(b);
  a.y = y.data_ptr();
  a.N = x.size(0); a.C = C; a.H = x.size(2); a.W = x.size(3); a.k = k;
  strides_of(x, a.xs);
  a.channels_last = cl;
  a.act = act_code(act);
  a.dtype = dtype_code(x);
  check_launch(nvc::depthwise_bias_act(a, c10::cuda::getCurrentCUDAStream()), "depthwise_bias_act");
  return y;
}

Tensor bias_residual(const Tensor& p, const OptTensor& bias, const Tensor& residual, const OptTensor& origins,
                     int64_t frame_h, int64_t frame_w) {
  check_input(p, "p", 4);
  check_input(residual, "residual", 4);
  check_same(p, residual, "residual");
  TORCH_CHECK(p.sizes() == residual.sizes(), "nvc_cuda_ext: residual has another shape");
  const c10::cuda::CUDAGuard guard(p.device());
  Tensor b = float_vector(bias, p.size(1), p, "bias"), keep;
  const bool cl = channels_last(p);
  Tensor y = at::empty(p.sizes(), p.options().memory_format(format_of(cl)));
  nvc::ResidualArgs a{};
  a.p = p.data_ptr();
  a.res = residual.data_ptr();
  a.bias = ptr_or_null(b);
  a.y = y.data_ptr();
  a.N = p.size(0); a.C = p.size(1); a.H = p.size(2); a.W = p.size(3);
  strides_of(p, a.ps);
  strides_of(residual, a.rs);
  a.channels_last = cl;
  a.mask = make_mask(origins, p.size(0), frame_h, frame_w, p, keep);
  a.dtype = dtype_code(p);
  check_launch(nvc::bias_residual(a, c10::cuda::getCurrentCUDAStream()), "bias_residual");
  return y;
}

void compose_frames(const Tensor& head, const OptTensor& bias, const Tensor& skip, double scale,
                    const Tensor& placements, int64_t core_h, int64_t core_w, const Tensor& out) {
  check_input(head, "head", 4);
  check_input(skip, "skip", 4);
  check_same(head, skip, "skip");
  TORCH_CHECK(head.size(1) == 3 && skip.size(1) == 3, "nvc_cuda_ext: head and skip must have 3 channels");
  TORCH_CHECK(out.is_cuda() && out.device() == head.device() && out.scalar_type() == at::kByte && out.dim() == 4 &&
                  out.size(3) == 3 && out.is_contiguous() && out.size(0) == skip.size(0),
              "nvc_cuda_ext: out must be a contiguous (F, H, W, 3) uint8 tensor on the head's device");
  TORCH_CHECK(out.numel() <= kMaxElements, "nvc_cuda_ext: out has 2^31 elements or more");
  TORCH_CHECK(placements.dim() == 2 && placements.size(0) == head.size(0) && placements.size(1) == 7,
              "nvc_cuda_ext: placements must be (B, 7)");
  const c10::cuda::CUDAGuard guard(head.device());
  Tensor pl = placements.to(head.device(), at::kInt).contiguous();
  Tensor b = float_vector(bias, 3, head, "bias");
  nvc::ComposeArgs a{};
  a.head = head.data_ptr();
  a.bias = ptr_or_null(b);
  a.skip = skip.data_ptr();
  a.out = out.data_ptr<uint8_t>();
  a.placements = pl.data_ptr<int32_t>();
  a.B = head.size(0); a.th = head.size(2); a.tw = head.size(3);
  a.sh = skip.size(2); a.sw = skip.size(3);
  a.F = out.size(0); a.H = out.size(1); a.W = out.size(2);
  a.core_h = core_h; a.core_w = core_w;
  strides_of(head, a.hs);
  strides_of(skip, a.ss);
  a.scale = static_cast<float>(scale);
  a.dtype = dtype_code(head);
  check_launch(nvc::compose_frames(a, c10::cuda::getCurrentCUDAStream()), "compose_frames");
}

Tensor to_uint8_frame(const Tensor& body, const OptTensor& skip, const OptTensor& bias, double offset,
                      const OptTensor& out) {
  check_input(body, "body", 3);
  TORCH_CHECK(body.size(0) == 3, "nvc_cuda_ext: body must be (3, h, w)");
  const c10::cuda::CUDAGuard guard(body.device());
  const int64_t h = body.size(1), w = body.size(2);
  Tensor o;
  if (out.has_value() && out->defined()) {
    o = *out;
    TORCH_CHECK(o.device() == body.device() && o.scalar_type() == at::kByte && o.dim() == 3 && o.size(0) == h &&
                    o.size(1) == w && o.size(2) == 3,
                "nvc_cuda_ext: out must be a (h, w, 3) uint8 tensor on the body's device");
  } else {
    o = at::empty({h, w, 3}, body.options().dtype(at::kByte));
  }
  Tensor b = float_vector(bias, 3, body, "bias");
  nvc::Uint8Args a{};
  a.body = body.data_ptr();
  a.skip = nullptr;
  if (skip.has_value() && skip->defined()) {
    check_same(body, *skip, "skip");
    TORCH_CHECK(skip->sizes() == body.sizes(), "nvc_cuda_ext: skip must have the body's shape");
    a.skip = skip->data_ptr();
    strides_of(*skip, a.ss);
  }
  a.bias = ptr_or_null(b);
  a.out = o.data_ptr<uint8_t>();
  a.h = h; a.w = w;
  strides_of(body, a.bs);
  strides_of(o, a.os);
  a.offset = static_cast<float>(offset);
  a.dtype = dtype_code(body);
  check_launch(nvc::to_uint8_frame(a, c10::cuda::getCurrentCUDAStream()), "to_uint8_frame");
  return o;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "nvc fused CUDA kernels (bias+PixelShuffle+activation, depthwise+activation, residual, frame output)";
  m.def("shuffle_bias_act", &shuffle_bias_act, "act(pixel_shuffle(x + bias, r)), zeroed outside the frame",
        py::arg("x"), py::arg("bias"), py::arg("r"), py::arg("act"), py::arg("origins"), py::arg("frame_h"),
        py::arg("frame_w"));
  m.def("depthwise_bias_act", &depthwise_bias_act, "act(depthwise_conv(x) + bias)", py::arg("x"), py::arg("weight"),
        py::arg("bias"), py::arg("act"));
  m.def("bias_residual", &bias_residual, "residual + (p + bias), zeroed outside the frame", py::arg("p"),
        py::arg("bias"), py::arg("residual"), py::arg("origins"), py::arg("frame_h"), py::arg("frame_w"));
  m.def("compose_frames", &compose_frames, "tiles of head + bias + bilinear(skip) + 0.5 -> uint8 frames",
        py::arg("head"), py::arg("bias"), py::arg("skip"), py::arg("scale"), py::arg("placements"),
        py::arg("core_h"), py::arg("core_w"), py::arg("out"));
  m.def("to_uint8_frame", &to_uint8_frame, "(3, h, w) body + bias + skip + offset -> (h, w, 3) uint8",
        py::arg("body"), py::arg("skip"), py::arg("bias"), py::arg("offset"), py::arg("out"));
  m.attr("ACT_NONE") = static_cast<int>(nvc::ACT_NONE);
  m.attr("ACT_GELU") = static_cast<int>(nvc::ACT_GELU);
  m.attr("ACT_RELU") = static_cast<int>(nvc::ACT_RELU);
  m.attr("ACT_SILU") = static_cast<int>(nvc::ACT_SILU);
}
