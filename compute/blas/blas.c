/*
 * sgemm(memory, transA, transB, m, n, k, a, b, c, batch, strideA, strideB, bias, relu)
 *
 * For i < batch: C_i = op(A_i) · op(B_i) [+ bias on every row] [then max(0, ·)], with OpenBLAS's cblas_sgemm, where
 * the float32 operands lie in `memory` (an ArrayBuffer: the tfjs wasm backend's heap), all row-major and contiguous:
 * A_i is m × k (k × m when transA) at byte offset a + 4·i·strideA, B_i is k × n (n × k when transB) at
 * b + 4·i·strideB, C_i is m × n at c + 4·i·m·n, bias (n floats) at byte offset `bias`, or -1 for none. A stride of 0
 * repeats one operand over the batch (broadcast). Every operand is checked against the buffer's length first: a
 * wrong offset throws a RangeError naming the operand instead of reading or writing outside the heap.
 *
 * OpenBLAS computes on the calling thread only: Lexicon's parallelism is its worker processes, and one thread keeps
 * the sums' order, hence the results, the same from run to run.
 */
#include <cblas.h>
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define ARGS 14

static bool failed(napi_env env, napi_status status) {
  if (status == napi_ok) return false;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_type_error(env, NULL, info && info->error_message ? info->error_message : "N-API call failed");
  return true;
}

static bool throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return false;
}

/** An integer argument in [min, max], or a RangeError naming it. */
static bool integer(napi_env env, napi_value value, const char *name, double min, double max, int64_t *out) {
  double x;
  if (failed(env, napi_get_value_double(env, value, &x))) return false;
  if (!(x >= min && x <= max) || x != floor(x)) {
    char message[160];
    snprintf(message, sizeof message, "sgemm: %s must be an integer in [%.0f, %.0f], got %g", name, min, max, x);
    return throw_range(env, message);
  }
  *out = (int64_t)x;
  return true;
}

static bool boolean(napi_env env, napi_value value, bool *out) {
  return !failed(env, napi_get_value_bool(env, value, out));
}

/**
 * `floats` float32 values from byte offset `offset` lie inside the buffer's `length` bytes, aligned. In doubles: exact
 * up to 2^53, and any extent beyond that is far outside the buffer anyway.
 */
static bool inside(napi_env env, const char *name, int64_t offset, double floats, size_t length) {
  if (offset % 4 == 0 && (double)offset + 4 * floats <= (double)length) return true;
  char message[200];
  snprintf(message, sizeof message,
           "sgemm: %s (%.0f floats at byte offset %lld) lies outside the %zu-byte memory or is not 4-byte aligned",
           name, floats, (long long)offset, length);
  return throw_range(env, message);
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = ARGS;
  napi_value argv[ARGS];
  if (failed(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL))) return NULL;
  if (argc != ARGS) {
    napi_throw_type_error(env, NULL, "sgemm: expects 14 arguments (memory, transA, transB, m, n, k, a, b, c, batch, strideA, strideB, bias, relu)");
    return NULL;
  }
  bool is_buffer = false;
  if (failed(env, napi_is_arraybuffer(env, argv[0], &is_buffer))) return NULL;
  if (!is_buffer) {
    napi_throw_type_error(env, NULL, "sgemm: memory must be an ArrayBuffer");
    return NULL;
  }
  void *data = NULL;
  size_t length = 0;
  if (failed(env, napi_get_arraybuffer_info(env, argv[0], &data, &length))) return NULL;

  const double dim = 2147483647.0;  // cblas's int
  const double offsets = 9007199254740991.0;  // any safe integer: inside() says which one misses the buffer
  bool trans_a, trans_b, relu;
  int64_t m, n, k, a, b, c, batch, stride_a, stride_b, bias;
  if (!boolean(env, argv[1], &trans_a) || !boolean(env, argv[2], &trans_b) ||
      !integer(env, argv[3], "m", 1, dim, &m) || !integer(env, argv[4], "n", 1, dim, &n) ||
      !integer(env, argv[5], "k", 1, dim, &k) || !integer(env, argv[6], "a", 0, offsets, &a) ||
      !integer(env, argv[7], "b", 0, offsets, &b) || !integer(env, argv[8], "c", 0, offsets, &c) ||
      !integer(env, argv[9], "batch", 1, offsets, &batch) || !integer(env, argv[10], "strideA", 0, offsets, &stride_a) ||
      !integer(env, argv[11], "strideB", 0, offsets, &stride_b) || !integer(env, argv[12], "bias", -1, offsets, &bias) ||
      !boolean(env, argv[13], &relu)) {
    return NULL;
  }
  const double rows = (double)m, cols = (double)n, inner = (double)k, last = (double)(batch - 1);
  if (!inside(env, "a", a, last * (double)stride_a + rows * inner, length) ||
      !inside(env, "b", b, last * (double)stride_b + inner * cols, length) ||
      !inside(env, "c", c, (last + 1) * rows * cols, length) || (bias >= 0 && !inside(env, "bias", bias, cols, length))) {
    return NULL;
  }

  char *heap = data;
  const float *bias_row = bias >= 0 ? (const float *)(heap + bias) : NULL;
  for (int64_t i = 0; i < batch; i++) {
    const float *a_i = (const float *)(heap + a) + i * stride_a;
    const float *b_i = (const float *)(heap + b) + i * stride_b;
    float *c_i = (float *)(heap + c) + i * m * n;
    // the bias goes in first and the product is added to it (beta = 1): one pass over C instead of two
    if (bias_row) {
      for (int64_t row = 0; row < m; row++) memcpy(c_i + row * n, bias_row, (size_t)n * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0f, a_i, trans_a ? (int)m : (int)k, b_i, trans_b ? (int)k : (int)n, bias_row ? 1.0f : 0.0f, c_i,
                (int)n);
    if (relu) {
      for (int64_t j = 0; j < m * n; j++) c_i[j] = c_i[j] < 0.0f ? 0.0f : c_i[j];  // NaN stays NaN
    }
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  openblas_set_num_threads(1);
  napi_value fn;
  if (failed(env, napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, sgemm, NULL, &fn))) return NULL;
  if (failed(env, napi_set_named_property(env, exports, "sgemm", fn))) return NULL;
  return exports;
}
