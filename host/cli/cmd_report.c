/* cmd_report.c: `resnet report DIR`: a sweep folder's tables and plots, or one run's plot. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "common/exitcodes.h"
#include "common/fileio.h"
#include "sweep/sweep.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: resnet report DIR\n\n"
            "DIR a sweep folder (it holds plan.csv): rewrites runs.csv, cells.csv and stable_lr.csv from\n"
            "the runs' files, prints the summary, and plots into DIR/plots/ (PNG and SVG): the schedules,\n"
            "the training loss of each cell's seeds, failure rate over peak rate x variant, and final\n"
            "test error against peak rate.\n"
            "DIR a run folder (it holds metrics.csv): plots its rate, loss and test error against step\n"
            "into DIR/plots/.\n\n"
            "Each figure is a data file plus a gnuplot script in plots/, rendered by running gnuplot\n"
            "(Debian/Ubuntu package gnuplot-nox); edit a script and run `gnuplot NAME.gp` there to\n"
            "render it again.\n\n"
            "exit codes: 0 done, 2 DIR is neither a sweep nor a run folder, 3 gnuplot missing or failed\n"
            "(the tables, data files and scripts are written all the same), or an I/O failure\n");
}

static int has_file(const char *dir, const char *name)
{
    char path[FILEIO_PATH_MAX];
    struct stat st;
    return path_join(path, sizeof path, dir, name) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int cmd_report(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "report: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
        if (dir) {
            fprintf(stderr, "report: one folder expected, got '%s' and '%s'\n", dir, argv[i]);
            return EXIT_USAGE;
        }
        dir = argv[i];
    }
    if (!dir) {
        fprintf(stderr, "report: missing the folder DIR\n\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (has_file(dir, SW_PLAN_FILE)) {
        sweep_table t;
        int rc = sweep_table_load(dir, &t);
        if (rc)
            return rc;
        rc = sweep_write_tables(&t, stdout);
        int prc = report_sweep(&t);
        sweep_table_free(&t);
        return rc ? rc : prc;
    }
    if (has_file(dir, "metrics.csv"))
        return report_run(dir);
    fprintf(stderr, "report: %s holds neither %s (a sweep folder) nor metrics.csv (a run folder)\n", dir,
            SW_PLAN_FILE);
    return EXIT_USAGE;
}
