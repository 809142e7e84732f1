/* train_step.c: the op sequence of one training step, written once for the trainer and the tests. */
#include "train/train_step.h"

void train_step_enqueue(backend *be, const step_inputs *in)
{
    const struct backend_ops *o = be->ops;
    model *m = in->m;
    const long np = m->L->n_params;
    const size_t stats_bytes = (size_t)m->L->n_stats * sizeof(float);
    /* A step judged not to be applied must leave no trace: its forward pass has already
       moved the BN running averages (possibly to NaN), so they come back from this copy. */
    o->copy(be, in->stats_backup, m->stats, stats_bytes);
    o->make_batch(be, in->images, in->labels, in->n_images, in->spec, in->ts, m->x, m->y);
    model_forward(m, 1);
    o->softmax_xent(be, m->batch, m->L->num_classes, m->logits, m->y, m->dlogits, in->ts);
    model_backward(m, 0);
    o->health(be, np, m->g, m->w, in->ts);
    o->sched_step(be, in->sched, in->pol, m->batch, in->ts, in->hist, in->hist_len);
    o->sgd_update(be, np, m->w, m->g, m->v, in->hyper, in->ts);
    o->restore_if_rejected(be, m->L->n_stats, in->stats_backup, m->stats, in->ts);
}
