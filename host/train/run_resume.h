/* run_resume.h: what a --resume may change: the resumed config against the folder's config.yaml and data_files.csv, and the log of accepted changes (resumes.csv). */
#ifndef RUN_RESUME_H
#define RUN_RESUME_H

#include <stddef.h>
#include "config/config.h"
#include "train/run_data.h"

#define RUN_RESUME_LOG "resumes.csv"
#define RUN_RESUME_HEADER "step,key,old,new"

/* The changes a resume accepted, to be logged before the run goes on. */
typedef struct resume_plan {
    int n;
    cfg_change ch[CFG_MAX_CHANGES];
    int no_data_record;   /* the folder had no data_files.csv (written by an older build) */
    int steps_changed;    /* train.steps grew */
    long old_steps;
} resume_plan;

/*
 * Compares CFG (the resumed run's config, output.dir already the folder) with the
 * folder's config.yaml, and NOW (the data files this process read) with its
 * data_files.csv. A key that changes what the run computes, a key that may only grow
 * and shrank, or a data file of other content is a refusal: EXIT_USAGE with one line in
 * err listing every such change with its old and new value. Otherwise 0, with the
 * accepted changes (lengths, cadences, output, data moved but the same) in *rp.
 * Reads only; nothing in the folder changes.
 */
int resume_check(const run_config *cfg, const data_ident *now, resume_plan *rp, char *err, size_t err_size);

/*
 * Appends one row per accepted change to DIR/resumes.csv (step,key,old,new; the header
 * when the file is new) and syncs it: the log reaches the disk before config.yaml says
 * the new values. 0 or EXIT_RUNTIME.
 */
int resume_log(const char *dir, long step, const resume_plan *rp, char *err, size_t err_size);

#endif
