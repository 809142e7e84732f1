/* model_pass.c: the ResNet forward pass (training or inference BN) and backward pass, enqueued through the backend table only. */
#include "model/model.h"
#include "model/model_act.h"

/* Views' device addresses. */
static float *W(model *m, int view) { return m->w + m->L->views[view].offset; }
static float *G(model *m, int view) { return m->g + m->L->views[view].offset; }
static float *S(model *m, int view) { return m->stats + m->L->stat_views[view].offset; }

static long map_count(const conv_shape *s) { return (long)s->n * s->k * s->oh * s->ow; }

/* conv -> BN into u->a (train: batch statistics, running averages updated). */
static void unit_fwd(model *m, int ui, int train)
{
    backend *be = m->be;
    const struct backend_ops *o = be->ops;
    const conv_unit_desc *d = &m->L->units[ui];
    unit_buf *u = &m->act->u[ui];
    const int hw = u->s.oh * u->s.ow;
    o->conv_fwd(be, &u->s, u->in, W(m, d->w_view), u->z);
    if (train)
        o->bn_train_fwd(be, u->s.n, u->s.k, hw, u->z, W(m, d->gamma_view), W(m, d->beta_view),
                        S(m, d->mean_view), S(m, d->var_view), u->save_mean, u->save_inv_std, u->a);
    else
        o->bn_infer_fwd(be, u->s.n, u->s.k, hw, u->z, W(m, d->gamma_view), W(m, d->beta_view),
                        S(m, d->mean_view), S(m, d->var_view), u->a);
}

void model_forward(model *m, int train)
{
    backend *be = m->be;
    const struct backend_ops *o = be->ops;
    const model_layout *L = m->L;
    struct model_act *A = m->act;

    unit_fwd(m, 0, train);
    o->relu_fwd(be, map_count(&A->u[0].s), A->u[0].a, A->u[0].a);
    for (int b = 0; b < 3 * L->n; b++) {
        unit_buf *u1 = &A->u[1 + 2 * b], *u2 = &A->u[2 + 2 * b];
        unit_fwd(m, 1 + 2 * b, train);
        o->relu_fwd(be, map_count(&u1->s), u1->a, u1->a);
        unit_fwd(m, 2 + 2 * b, train);
        const float *shortcut = A->block_in[b];
        if (u1->s.stride != 1 || u1->s.c != u1->s.k) {
            o->shortcut_fwd(be, u1->s.n, u1->s.c, u1->s.h, u1->s.w, u1->s.k, A->block_in[b], A->sc);
            shortcut = A->sc;
        }
        o->add_relu_fwd(be, map_count(&u2->s), u2->a, shortcut, A->block_out[b]);
    }
    const unit_buf *last = &A->u[L->n_units - 1];
    o->avgpool_fwd(be, m->batch, 64, last->s.oh * last->s.ow, A->block_out[3 * L->n - 1], A->pool);
    o->linear_fwd(be, m->batch, 64, L->num_classes, A->pool, W(m, L->fc_w_view),
                  W(m, L->fc_b_view), m->logits);
}

/* From dy, the gradient of the unit's BN output: the BN parameter gradients, dz (the
   conv output's gradient, scratch), the conv weight gradient and, when dx is given, the
   gradient of the conv input. Everything is overwritten; the caller adds shortcuts. */
static void unit_bwd(model *m, int ui, const float *dy, float *dz, float *dx)
{
    backend *be = m->be;
    const struct backend_ops *o = be->ops;
    const conv_unit_desc *d = &m->L->units[ui];
    unit_buf *u = &m->act->u[ui];
    o->bn_bwd(be, u->s.n, u->s.k, u->s.oh * u->s.ow, u->z, dy, W(m, d->gamma_view), u->save_mean,
              u->save_inv_std, dz, G(m, d->gamma_view), G(m, d->beta_view));
    o->conv_bwd_filter(be, &u->s, u->in, dz, G(m, d->w_view));
    if (dx)
        o->conv_bwd_data(be, &u->s, dz, W(m, d->w_view), dx);
}

void model_backward(model *m, int want_dx)
{
    backend *be = m->be;
    const struct backend_ops *o = be->ops;
    const model_layout *L = m->L;
    struct model_act *A = m->act;
    float *dout = A->d[0], *dprev = A->d[1], *dz = A->d[2], *da = A->d[3];

    const unit_buf *last = &A->u[L->n_units - 1];
    o->linear_bwd(be, m->batch, 64, L->num_classes, A->pool, W(m, L->fc_w_view), m->dlogits,
                  A->dpool, G(m, L->fc_w_view), G(m, L->fc_b_view));
    o->avgpool_bwd(be, m->batch, 64, last->s.oh * last->s.ow, A->dpool, dout);

    for (int b = 3 * L->n - 1; b >= 0; b--) {
        unit_buf *u1 = &A->u[1 + 2 * b], *u2 = &A->u[2 + 2 * b];
        /* dout: gradient of the block output; through the final ReLU it is the gradient of
           the sum, which feeds both the conv2 branch and the shortcut. */
        o->relu_bwd(be, map_count(&u2->s), A->block_out[b], dout, dout);
        unit_bwd(m, 2 + 2 * b, dout, dz, da);
        o->relu_bwd(be, map_count(&u1->s), u1->a, da, da);
        unit_bwd(m, 1 + 2 * b, da, dz, dprev);
        if (u1->s.stride != 1 || u1->s.c != u1->s.k)
            o->shortcut_bwd_acc(be, u1->s.n, u1->s.c, u1->s.h, u1->s.w, u1->s.k, dout, dprev);
        else
            o->add_acc(be, map_count(&u2->s), dout, dprev);
        float *t = dout;
        dout = dprev;
        dprev = t;
    }
    /* dout: gradient of the stem's ReLU output. */
    o->relu_bwd(be, map_count(&A->u[0].s), A->u[0].a, dout, dout);
    unit_bwd(m, 0, dout, dz, want_dx ? m->dx : NULL);
}
