/* cuda_graph.c: the whole training step as a CUDA graph: capture on first use, replay after, forget on request (run_step and forget_steps of the CUDA backend). */
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cuda_check.h"

/*
 * The first captured call for a (step, ctx) pair records step(ctx) from the stream
 * and instantiates the graph, then launches it (capturing does not execute anything);
 * later calls only launch. The caller runs one step uncaptured first, so that every
 * lazy initialization (cuDNN's, the CUDA module loader's) has happened. Capture mode
 * "global" makes an accidental allocation or synchronization during capture an error
 * at the offending call rather than a silently wrong graph.
 *
 * A graph holds raw device addresses, and the table (host/backend/step_cache.h) is keyed
 * by the addresses of step and ctx. So graphs are dropped whenever what they name goes
 * away: by forget_steps, which the owners of ctx and of the model's buffers call on
 * destroy (tests/gpu_rig.h, host/train/trainer.c, host/model/model.c), and by conv_prepare
 * when it has to grow the cuDNN workspace. Every failure of the graph calls themselves
 * says that the run can go on with train.cuda_graph=false.
 */
void cuda_run_step(backend *b, void (*step)(void *ctx), void *ctx, int capture)
{
    cuda_backend *cb = cuda_ctx(b);
#ifdef RESNET_CUDA_SYNC_CHECK
    /* The sync-check build synchronizes after every launch, which a capture forbids. */
    capture = 0;
#endif
    if (!capture) {
        step(ctx);
        return;
    }
    cudaGraphExec_t exec = (cudaGraphExec_t)step_cache_find(&cb->graphs, step, ctx);
    if (exec) {
        CUDA_GRAPH_CHECK(cudaGraphLaunch(exec, cb->stream));
        return;
    }
    if (cb->graphs.n == STEP_CACHE_MAX)
        cuda_fatal("more than %d distinct captured steps (is forget_steps called when a step's context is "
                   "destroyed?); %s", STEP_CACHE_MAX, CUDA_GRAPH_HINT);
    cudaGraph_t graph;
    CUDA_GRAPH_CHECK(cudaStreamBeginCapture(cb->stream, cudaStreamCaptureModeGlobal));
    step(ctx);
    CUDA_GRAPH_CHECK(cudaStreamEndCapture(cb->stream, &graph));
    CUDA_GRAPH_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    CUDA_GRAPH_CHECK(cudaGraphDestroy(graph));
    if (step_cache_add(&cb->graphs, step, ctx, exec) != 0)
        cuda_fatal("internal error: the captured-step table is full after the check");
    CUDA_GRAPH_CHECK(cudaGraphLaunch(exec, cb->stream));
}

static void destroy_exec(void *handle, void *arg)
{
    (void)arg;
    CUDA_CHECK(cudaGraphExecDestroy((cudaGraphExec_t)handle));
}

void cuda_forget_graphs(cuda_backend *cb, const void *ctx)
{
    if (cb->graphs.n == 0)
        return;
    cuda_forbid_capture(cb->stream, "forgetting captured steps");
    /* A launch of a graph about to go may still be queued. */
    CUDA_CHECK(cudaStreamSynchronize(cb->stream));
    step_cache_forget(&cb->graphs, ctx, destroy_exec, NULL);
}

void cuda_forget_steps(backend *b, const void *ctx)
{
    cuda_forget_graphs(cuda_ctx(b), ctx);
}

static void destroy_exec_quietly(void *handle, void *arg)
{
    (void)arg;
    cudaGraphExecDestroy((cudaGraphExec_t)handle);
}

void cuda_release_graphs(cuda_backend *cb)
{
    step_cache_forget(&cb->graphs, NULL, destroy_exec_quietly, NULL);
}
