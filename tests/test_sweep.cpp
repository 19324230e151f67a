// Sweep lists and rows: the same engines as `memory` and `roofline`, point by point.
#include <doctest/doctest.h>

#include "loaders.hpp"
#include "sweep.hpp"

using namespace ridge;

TEST_CASE("list syntax") {
  using V = std::vector<std::int64_t>;
  CHECK(parse_int_list("1,2,4", "--batch", 1, 100) == V{1, 2, 4});
  CHECK(parse_int_list("1..256:x2", "--batch", 1, 1000) == V{1, 2, 4, 8, 16, 32, 64, 128, 256});
  CHECK(parse_int_list("1024..4096:+1024", "--context", 1, 10000) == V{1024, 2048, 3072, 4096});
  CHECK(parse_int_list("3..5", "--batch", 1, 10) == V{3, 4, 5});
  CHECK(parse_int_list("1..10:x3,100", "--batch", 1, 1000) == V{1, 3, 9, 100});
  CHECK_THROWS_AS(parse_int_list("0..4", "--batch", 1, 10), InputError);
  CHECK_THROWS_AS(parse_int_list("4..1", "--batch", 1, 10), InputError);
  CHECK_THROWS_AS(parse_int_list("1..8:x1", "--batch", 1, 10), InputError);
  CHECK_THROWS_AS(parse_int_list("1,,2", "--batch", 1, 10), InputError);
  CHECK_THROWS_AS(parse_int_list("1..8:*2", "--batch", 1, 10), InputError);
  CHECK_THROWS_AS(parse_int_list("1..2000000", "--batch", 1, 10'000'000, 1000), InputError);
  CHECK_THROWS_WITH_AS(parse_int_list("1..9999", "--prompt", 1, 4096),
                       "--prompt: 4097 is out of range; expected 1 to 4096", InputError);
}

TEST_CASE("a sweep row agrees with the memory and roofline engines") {
  const ModelSpec m = resolve_model("qwen2.5-7b");
  const GpuSpec g = resolve_gpu("l40s");
  MemoryQuery q;
  q.weights = *weight_format("int4");
  q.kv_dtype = DType::fp8;
  q.overhead = g.runtime_overhead;
  const SweepEvaluator eval(m, g, q, {q.weights}, 128);
  const SweepRow row = eval.evaluate(0, 8, 2048);

  q.batch = 8;
  q.context = 2048 + 128;
  const MemoryEstimate mem = estimate_memory(m, g, q);
  CHECK(row.per_gpu_bytes == mem.per_gpu().total().value);
  CHECK(row.kv_cache_bytes == mem.per_gpu().kv_cache.value);
  CHECK(row.fits == mem.fits);

  const ModelShapes shapes = compile_shapes(m, q.weights, 1);
  const ServiceEstimate s =
      estimate_service(shapes, ceilings_for(g, shapes), ServiceQuery{8, 2048, 128, AttentionImpl::flash, DType::fp8});
  CHECK(row.ttft_s == s.ttft.value);
  CHECK(row.tpot_s == s.tpot.value);
}
