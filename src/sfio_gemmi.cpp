/*
 * sfio_gemmi.cpp - the structure-factor inputs of sfio.h over gemmi
 * (https://gemmi.readthedocs.io; Debian: gemmi-dev, header-only): MTZ and
 * mmCIF reflection files, atomic models and their structure factors, and
 * space-group symmetry.  The only C++ in the library: each function catches
 * every exception and returns a status with a message.
 */
#define USE_STD_SNPRINTF 1 /* gemmi's number formatting through snprintf, not stb */
/* The library never aborts and never prints: gemmi's assert()s are compiled
   out, as are the checks of its number parser (fast_float) on its own
   big-integer arithmetic, which holds by construction whatever the input
   (the operations still run, their results are unchecked); its one printing
   call, Mtz::warn's fprintf to a FILE* that is
   never set here, is compiled to a call that discards (defined below), so
   that no printing function is referenced (tests/library/check_symbols.sh). */
#define NDEBUG 1
#define FASTFLOAT_ASSERT(x) { (void)(x); }
#include <cstdio>
extern "C" int nbi_sfio_discard_fprintf(std::FILE *, const char *, ...);
namespace std {
using ::nbi_sfio_discard_fprintf;
}
#define fprintf nbi_sfio_discard_fprintf

/* pocketfft (the FFT of a bulk-solvent mask) without its vector path, which
   allocates with aligned_alloc(64, n) for n not a multiple of 64: undefined
   in C11, and refused by AddressSanitizer. */
#define POCKETFFT_NO_VECTORS 1
#include <gemmi/cif.hpp>
#if defined(__GNUC__) && !defined(__clang__) /* gcc 12 at -O2: a false alarm inside pocketfft's scalar path */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <gemmi/fourier.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#include <gemmi/it92.hpp>
#include <gemmi/mmread.hpp>
#include <gemmi/mtz.hpp>
#include <gemmi/refln.hpp>
#include <gemmi/sfcalc.hpp>
#include <gemmi/solmask.hpp>
#include <gemmi/symmetry.hpp>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "sfio.h"

extern "C" int nbi_sfio_discard_fprintf(std::FILE *, const char *, ...)
{
    return 0;
}

namespace {

nb_status fail(nb_error *err, nb_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

nb_status fail(nb_error *err, nb_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* The reflections being collected, then handed to C as a malloc'd array. */
nb_status give(const std::vector<nbi_refl> &v, nbi_refl_list *out, nb_error *err)
{
    out->v = static_cast<nbi_refl *>(std::malloc((v.size() ? v.size() : 1) * sizeof(nbi_refl)));
    if (!out->v)
        return fail(err, NB_ERR_NOMEM, "out of memory for %zu reflections", v.size());
    if (!v.empty())
        std::memcpy(out->v, v.data(), v.size() * sizeof(nbi_refl));
    out->n = v.size();
    return NB_OK;
}

/* The file's cell and space group into out.  No cell (gemmi's placeholder
   1 1 1 90 90 90): have_cell = 0; one that is no cell (lengths not
   positive, angles outside 0-180, no volume, NaN: found by the fuzz
   targets), NB_ERR_FORMAT. */
nb_status set_meta(const char *path, const gemmi::UnitCell &cell, const gemmi::SpaceGroup *sg, nbi_refl_list *out,
                   nb_error *err)
{
    const double c[6] = {cell.a, cell.b, cell.c, cell.alpha, cell.beta, cell.gamma};
    std::memcpy(out->cell, c, sizeof c);
    std::snprintf(out->spacegroup, sizeof out->spacegroup, "%s", sg ? sg->xhm().c_str() : "");
    out->have_cell = 0;
    if (!cell.is_crystal())
        return NB_OK;
    bool ok = std::isfinite(cell.volume) && cell.volume > 0;
    for (int i = 0; i < 3; ++i)
        ok = ok && std::isfinite(c[i]) && c[i] > 0 && c[3 + i] > 0 && c[3 + i] < 180;
    if (!ok)
        return fail(err, NB_ERR_FORMAT, "%s: its unit cell %g %g %g %g %g %g is not a unit cell", path, c[0], c[1],
                    c[2], c[3], c[4], c[5]);
    out->have_cell = 1;
    return NB_OK;
}

bool is_intensity_label(const std::string &label)
{
    return label.find("intensity") != std::string::npos || label.rfind("I_", 0) == 0
           || label.rfind("pdbx_I_", 0) == 0;
}

/* F from a stored value: NaN (missing) gives false. */
bool amplitude(double value, bool intensity, double *F)
{
    if (std::isnan(value))
        return false;
    *F = intensity ? std::sqrt(value > 0.0 ? value : 0.0) : value;
    return std::isfinite(*F);
}

/* The anomalous partner of label "X(+)" / "X(-)" (or the mmCIF's
   pdbx_F_plus / pdbx_F_minus), or "" if it has none. */
std::string partner(const std::string &label)
{
    const std::pair<const char *, const char *> pairs[] = {
        {"(+)", "(-)"}, {"(-)", "(+)"}, {"_plus", "_minus"}, {"_minus", "_plus"}};
    for (const auto &p : pairs) {
        const size_t n = std::strlen(p.first);
        if (label.size() > n && label.compare(label.size() - n, n, p.first) == 0)
            return label.substr(0, label.size() - n) + p.second;
    }
    return "";
}

bool is_plus(const std::string &label)
{
    return label.find("(+)") != std::string::npos || label.find("_plus") != std::string::npos;
}

std::string join(const std::vector<std::string> &labels)
{
    std::string s;
    for (const std::string &l : labels)
        s += (s.empty() ? "" : " ") + l;
    return s;
}

/* ----------------------------------------------------------------- MTZ */

/* What gemmi 0.5.7's MTZ reader would allocate before it checks anything,
   checked first (found by fuzz/fuzz_mtz.c): the main header records (from
   the word the file's first bytes point to, to END) are scanned with
   gemmi's own parsing functions, and refused are a header beyond the end of
   the file, batch headers (an unmerged file; gemmi would make up to 10^7
   batches of 740 bytes from one NCOL record), more than 192 symmetry
   operators (SYMINF: reserved up front) and more than 1000 datasets (NDIF:
   the same).  The sizes of the data are checked once the headers are read
   (check_mtz_data). */
nb_status check_mtz_headers(const char *path, std::FILE *f, std::int64_t file_bytes, nb_error *err)
{
    gemmi::Mtz first;
    gemmi::FileStream stream{f};
    first.read_first_bytes(stream); /* throws on a file that is no MTZ */
    if (first.header_offset < 21 || first.header_offset > file_bytes / 4)
        return fail(err, NB_ERR_FORMAT, "%s: corrupt MTZ file: its headers are said to begin at word %lld, "
                    "outside the file's %lld bytes", path, (long long)first.header_offset, (long long)file_bytes);
    if (std::fseek(f, (long)(4 * (first.header_offset - 1)), SEEK_SET) != 0)
        return fail(err, NB_ERR_IO, "%s: cannot seek to its headers", path);
    char line[81] = {0};
    while (std::fread(line, 80, 1, f) == 1 && gemmi::ialpha3_id(line) != gemmi::ialpha3_id("END")) {
        const char *args = gemmi::Mtz::skip_word(line);
        const int id = gemmi::ialpha4_id(line);
        if (id == gemmi::ialpha4_id("NCOL")) {
            gemmi::simple_atoi(args, &args);
            gemmi::simple_atoi(args, &args);
            if (const int batches = gemmi::simple_atoi(args))
                return fail(err, NB_ERR_INVALID, "%s: an unmerged MTZ file (%d batches): give merged structure "
                            "factors", path, batches);
        } else if (id == gemmi::ialpha4_id("SYMI")) {
            const int nsym = gemmi::simple_atoi(args);
            if (nsym < 0 || nsym > 192)
                return fail(err, NB_ERR_FORMAT, "%s: corrupt MTZ file: %d symmetry operators (SYMINF)", path, nsym);
        } else if (id == gemmi::ialpha4_id("NDIF")) {
            const int ndif = gemmi::simple_atoi(args);
            if (ndif < 0 || ndif > 1000)
                return fail(err, NB_ERR_FORMAT, "%s: corrupt MTZ file: %d datasets (NDIF)", path, ndif);
        }
    }
    return NB_OK;
}

/* The reflection records gemmi is about to read (nreflections rows of every
   column, 4 bytes each, from byte 80) must be in the file, and begin with
   H, K and L. */
nb_status check_mtz_data(const char *path, const gemmi::Mtz &mtz, std::int64_t file_bytes, nb_error *err)
{
    if (mtz.nreflections < 0 || 80 + 4.0 * (double)mtz.columns.size() * mtz.nreflections > (double)file_bytes)
        return fail(err, NB_ERR_FORMAT, "%s: corrupt MTZ file: %d reflections of %zu columns do not fit in its %lld "
                    "bytes", path, mtz.nreflections, mtz.columns.size(), (long long)file_bytes);
    if (mtz.columns.size() < 3 || mtz.columns[0].type != 'H' || mtz.columns[1].type != 'H'
        || mtz.columns[2].type != 'H')
        return fail(err, NB_ERR_FORMAT, "%s: corrupt MTZ file: its first three columns are not H, K and L", path);
    return NB_OK;
}

/* The file read by gemmi, checked before gemmi allocates what it says. */
nb_status load_mtz(const char *path, gemmi::Mtz &mtz, nb_error *err)
{
    gemmi::fileptr_t f = gemmi::file_open(path, "rb"); /* throws "Failed to open" */
    struct stat sb;
    if (fstat(fileno(f.get()), &sb) != 0 || !S_ISREG(sb.st_mode))
        return fail(err, NB_ERR_IO, "%s: not a regular file", path);
    nb_status st = check_mtz_headers(path, f.get(), (std::int64_t)sb.st_size, err);
    if (st != NB_OK)
        return st;
    std::rewind(f.get());
    gemmi::FileStream stream{f.get()};
    mtz.source_path = path;
    mtz.read_all_headers(stream);
    if ((st = check_mtz_data(path, mtz, (std::int64_t)sb.st_size, err)) != NB_OK)
        return st;
    mtz.read_raw_data(stream);
    return NB_OK;
}

/* An index of an MTZ row (stored as a float): integral and within the
   library's +-1e9, or false. */
bool mtz_index(float x, int *i)
{
    if (!(std::fabs(x) <= 1e9f) || x != std::nearbyint(x))
        return false;
    *i = static_cast<int>(x);
    return true;
}

nb_status read_mtz(const char *path, const char *column, nbi_refl_list *out, nb_error *err)
{
    gemmi::Mtz mtz;
    nb_status st = load_mtz(path, mtz, err);
    if (st != NB_OK)
        return st;
    std::vector<std::string> labels;
    const gemmi::Mtz::Column *col = nullptr;
    for (const gemmi::Mtz::Column &c : mtz.columns)
        labels.push_back(c.label);
    if (column) {
        col = mtz.column_with_label(column);
    } else {
        for (const char type : {'F', 'J'})
            for (const gemmi::Mtz::Column &c : mtz.columns)
                if (!col && c.type == type)
                    col = &c;
    }
    if (!col)
        return fail(err, NB_ERR_INVALID, "%s: %s%s%s (its columns: %s)", path, column ? "no column labelled '" : "",
                    column ? column : "no amplitude (F) or intensity (J) column", column ? "'" : "",
                    join(labels).c_str());
    if (!std::strchr("FJGKR", col->type)) /* amplitudes, intensities, anomalous pairs, reals (FC) */
        return fail(err, NB_ERR_INVALID, "%s: column '%s' has type %c, not an amplitude or intensity", path,
                    col->label.c_str(), col->type);
    const gemmi::Mtz::Column *other = nullptr;
    std::string mate = partner(col->label);
    if (!mate.empty() && (other = mtz.column_with_label(mate)) == nullptr)
        return fail(err, NB_ERR_INVALID, "%s: column '%s' is one of an anomalous pair but '%s' is missing "
                    "(its columns: %s)", path, col->label.c_str(), mate.c_str(), join(labels).c_str());
    const gemmi::Mtz::Column *plus = other && !is_plus(col->label) ? other : col;
    const gemmi::Mtz::Column *minus = other ? (plus == col ? other : col) : nullptr;
    const bool intensity = col->type == 'J' || col->type == 'K';
    const size_t ncol = mtz.columns.size();
    std::vector<nbi_refl> v;
    v.reserve(mtz.nreflections * (other ? 2 : 1));
    for (size_t r = 0; r < (size_t)mtz.nreflections; ++r) {
        const float *row = &mtz.data[r * ncol];
        nbi_refl e = {0, 0, 0, minus ? 0 : 1, 0.0};
        if (!mtz_index(row[0], &e.h) || !mtz_index(row[1], &e.k) || !mtz_index(row[2], &e.l))
            return fail(err, NB_ERR_FORMAT, "%s: reflection %zu: the indices %g %g %g are not integers within "
                        "+-1e9", path, r + 1, row[0], row[1], row[2]);
        if (amplitude(row[plus->idx], intensity, &e.F))
            v.push_back(e);
        if (minus) {
            nbi_refl m = {-e.h, -e.k, -e.l, 0, 0.0};
            if (amplitude(row[minus->idx], intensity, &m.F))
                v.push_back(m);
        }
    }
    if ((st = set_meta(path, mtz.get_cell(), mtz.spacegroup, out, err)) != NB_OK)
        return st;
    std::snprintf(out->column, sizeof out->column, "%s%s%s", plus->label.c_str(), minus ? "," : "",
                  minus ? minus->label.c_str() : "");
    out->intensities = intensity;
    return give(v, out, err);
}

/* ---------------------------------------------------------------- mmCIF */

/* A Miller index of the _refln loop: an integer within the library's
   +-1e9 (gemmi's as_int would wrap a longer one). */
bool cif_index(const std::string &text, int *i)
{
    const char *p = text.c_str();
    char *end;
    errno = 0;
    const long x = std::strtol(p, &end, 10);
    if (end == p || *end != '\0' || errno != 0 || x < -1000000000L || x > 1000000000L)
        return false;
    *i = static_cast<int>(x);
    return true;
}

nb_status read_sfcif(const char *path, const char *column, nbi_refl_list *out, nb_error *err)
{
    gemmi::cif::Document doc = gemmi::cif::read_file(path);
    std::vector<gemmi::ReflnBlock> blocks = gemmi::as_refln_blocks(std::move(doc.blocks));
    gemmi::ReflnBlock *rb = nullptr;
    for (gemmi::ReflnBlock &b : blocks)
        if (!rb && b.refln_loop)
            rb = &b;
    if (!rb)
        return fail(err, NB_ERR_PARSE, "%s: no _refln loop (not an mmCIF structure-factor file)", path);
    rb->use_unmerged(false);
    std::vector<std::string> labels = rb->column_labels();
    std::string label;
    if (column) {
        if (rb->find_column_index(column) >= 0)
            label = column;
    } else {
        for (const char *c : {"F_meas_au", "F_meas", "F_calc", "intensity_meas", "I_meas"})
            if (label.empty() && rb->find_column_index(c) >= 0)
                label = c;
    }
    if (label.empty())
        return fail(err, NB_ERR_INVALID, "%s: %s%s%s (its _refln columns: %s)", path,
                    column ? "no _refln column '" : "", column ? column : "no F_meas_au, F_meas, F_calc, "
                    "intensity_meas or I_meas column", column ? "'" : "", join(labels).c_str());
    std::string mate = partner(label);
    if (!mate.empty() && rb->find_column_index(mate) < 0)
        return fail(err, NB_ERR_INVALID, "%s: column '%s' is one of an anomalous pair but '%s' is missing",
                    path, label.c_str(), mate.c_str());
    const std::string plus = mate.empty() || is_plus(label) ? label : mate;
    const std::string minus = mate.empty() ? "" : (plus == label ? mate : label);
    const bool intensity = is_intensity_label(label);
    const gemmi::cif::Loop &loop = *rb->default_loop;
    const std::array<size_t, 3> hkl = rb->get_hkl_column_indices();
    std::vector<double> fp = rb->make_vector<double>(plus, NAN);
    std::vector<double> fm = minus.empty() ? std::vector<double>() : rb->make_vector<double>(minus, NAN);
    std::vector<nbi_refl> v;
    for (size_t r = 0; r < fp.size(); ++r) {
        nbi_refl e = {0, 0, 0, minus.empty() ? 1 : 0, 0.0};
        int *idx[3] = {&e.h, &e.k, &e.l};
        for (int a = 0; a < 3; ++a)
            if (!cif_index(loop.values[r * loop.width() + hkl[a]], idx[a]))
                return fail(err, NB_ERR_PARSE, "%s: _refln row %zu: index_%c '%.40s' is not an integer within +-1e9",
                            path, r + 1, "hkl"[a], loop.values[r * loop.width() + hkl[a]].c_str());
        if (amplitude(fp[r], intensity, &e.F))
            v.push_back(e);
        if (!minus.empty()) {
            nbi_refl m = {-e.h, -e.k, -e.l, 0, 0.0};
            if (amplitude(fm[r], intensity, &m.F))
                v.push_back(m);
        }
    }
    const nb_status st = set_meta(path, rb->cell, rb->spacegroup, out, err);
    if (st != NB_OK)
        return st;
    std::snprintf(out->column, sizeof out->column, "%s%s%s", plus.c_str(), minus.empty() ? "" : ",",
                  minus.c_str());
    out->intensities = intensity;
    return give(v, out, err);
}

/* ---------------------------------------------------------------- models */

bool has_atoms(const gemmi::Model &model)
{
    for (const gemmi::Chain &chain : model.chains)
        for (const gemmi::Residue &res : chain.residues)
            if (!res.atoms.empty())
                return true;
    return false;
}

gemmi::Structure read_model(const char *path, nb_error *err, nb_status *st)
{
    gemmi::Structure s = gemmi::read_structure_file(path);
    *st = NB_OK;
    if (s.models.empty() || !has_atoms(s.models[0]))
        *st = fail(err, NB_ERR_PARSE, "%s: no atoms in the model", path);
    return s;
}

nb_status model_header(const char *path, nbi_refl_list *out, nb_error *err)
{
    nb_status st;
    gemmi::Structure s = read_model(path, err, &st);
    if (st == NB_OK)
        st = set_meta(path, s.cell, s.find_spacegroup(), out, err);
    return st;
}

/* |F| of the first model of s (called path in messages): see
   nbi_sfio_model_sf. */
/* The structure factors of the bulk-solvent mask of s's first model (see
   nbi_sfio_model_sf): a grid of about d_min / 4 (coarser, down to 2.2
   points per d_min, where that would pass 3e7 points), gemmi's mask
   (cctbx's radii, probe 1.11 A, shrink 0.9 A) and its transform. */
nb_status solvent_mask(const gemmi::Structure &s, const gemmi::SpaceGroup *sg, double inv_d_max, const int lim[3],
                       const char *path, gemmi::FPhiGrid<float> &fmask, nbi_refl_list *out, nb_error *err)
{
    const double nyquist = 1.0 / (2.2 * inv_d_max), most = 3e7;
    double spacing = 1.0 / (4.0 * inv_d_max);
    auto points = [&](double sp) { return 1.0 / (s.cell.ar * sp) / (s.cell.br * sp) / (s.cell.cr * sp); };
    while (points(spacing) > most && spacing * 1.1 <= nyquist)
        spacing *= 1.1;
    if (points(spacing) > most)
        return fail(err, NB_ERR_RANGE, "%s: a bulk-solvent mask to %g A needs %.3g grid points (at most %g)", path,
                    1.0 / inv_d_max, points(spacing), most);
    gemmi::Grid<float> mask;
    mask.spacegroup = sg;
    mask.set_unit_cell(s.cell);
    mask.set_size_from_spacing(spacing, true);
    if (mask.nu <= 2 * lim[0] || mask.nv <= 2 * lim[1] || mask.nw <= 2 * lim[2])
        return fail(err, NB_ERR_RANGE, "%s: the bulk-solvent mask's %d x %d x %d grid is too coarse for %g A", path,
                    mask.nu, mask.nv, mask.nw, 1.0 / inv_d_max);
    gemmi::SolventMasker masker(gemmi::AtomicRadiiSet::Cctbx);
    masker.put_mask_on_grid(mask, s.models[0]);
    double solvent = 0;
    for (float x : mask.data)
        solvent += x;
    out->solvent_fraction = solvent / (double)mask.data.size();
    out->mask_grid[0] = mask.nu, out->mask_grid[1] = mask.nv, out->mask_grid[2] = mask.nw;
    fmask = gemmi::transform_map_to_f_phi(mask, false);
    return NB_OK;
}

nb_status structure_sf(gemmi::Structure &s, const char *path, const char *spacegroup, const double *cell,
                       double inv_d_max, const double *bulk, nbi_refl_list *out, nb_error *err)
{
    nb_status st;
    if (cell)
        s.cell.set(cell[0], cell[1], cell[2], cell[3], cell[4], cell[5]);
    if (spacegroup && spacegroup[0])
        s.spacegroup_hm = spacegroup;
    const gemmi::SpaceGroup *sg = s.find_spacegroup();
    if (!sg)
        sg = &gemmi::get_spacegroup_p1();
    s.cell.set_cell_images_from_spacegroup(sg);
    if ((st = set_meta(path, s.cell, sg, out, err)) != NB_OK)
        return st;
    if (!out->have_cell)
        return fail(err, NB_ERR_INVALID, "%s: the model has no unit cell", path);
    const double lim[3] = {std::ceil(inv_d_max * s.cell.a), std::ceil(inv_d_max * s.cell.b),
                           std::ceil(inv_d_max * s.cell.c)};
    if (!(inv_d_max > 0) || !(lim[0] * lim[1] * lim[2] <= 1e9))
        return fail(err, NB_ERR_RANGE, "%s: structure factors to %g A are too many", path, 1.0 / inv_d_max);
    const int hmax = (int)lim[0], kmax = (int)lim[1], lmax = (int)lim[2];
    const int ilim[3] = {hmax, kmax, lmax};
    gemmi::FPhiGrid<float> fmask;
    if (bulk && (st = solvent_mask(s, sg, inv_d_max, ilim, path, fmask, out, err)) != NB_OK)
        return st;
    const gemmi::ReciprocalAsu asu(sg);
    const gemmi::GroupOps ops = sg->operations();
    gemmi::StructureFactorCalculator<gemmi::IT92<double>> calc(s.cell);
    std::vector<nbi_refl> v;
    const gemmi::Model &model = s.models[0];
    for (int h = -hmax; h <= hmax; ++h)
        for (int k = -kmax; k <= kmax; ++k)
            for (int l = -lmax; l <= lmax; ++l) {
                const gemmi::Miller hkl = {{h, k, l}};
                if (!asu.is_in(hkl) || ops.is_systematically_absent(hkl)
                    || s.cell.calculate_1_d2(hkl) > inv_d_max * inv_d_max)
                    continue;
                std::complex<double> F = calc.calculate_sf_from_model(model, hkl);
                if (bulk) /* F_model + k_sol exp(-B_sol s^2 / 4) F_mask, s = 1/d */
                    F += bulk[0] * std::exp(-bulk[1] * s.cell.calculate_1_d2(hkl) / 4.0)
                         * std::complex<double>(fmask.get_value(h, k, l));
                nbi_refl e = {h, k, l, 1, std::abs(F)};
                v.push_back(e);
            }
    std::snprintf(out->column, sizeof out->column, "%s", "model");
    return give(v, out, err);
}

nb_status model_sf(const char *path, const char *spacegroup, const double *cell, double inv_d_max,
                   const double *bulk, nbi_refl_list *out, nb_error *err)
{
    nb_status st;
    gemmi::Structure s = read_model(path, err, &st);
    if (st != NB_OK)
        return st;
    return structure_sf(s, path, spacegroup, cell, inv_d_max, bulk, out, err);
}

/* A structure of one model, one chain, one residue holding atoms. */
gemmi::Structure structure_of(const nbi_atoms *atoms)
{
    gemmi::Structure s;
    if (atoms->have_cell) {
        const double *c = atoms->cell;
        s.cell.set(c[0], c[1], c[2], c[3], c[4], c[5]);
    }
    s.spacegroup_hm = atoms->spacegroup;
    gemmi::Residue res;
    res.name = "UNK";
    res.seqid = gemmi::SeqId(1, ' ');
    res.atoms.resize(atoms->n);
    for (size_t i = 0; i < atoms->n; ++i) {
        gemmi::Atom &a = res.atoms[i];
        a.name = atoms->element[i];
        a.element = gemmi::Element(atoms->element[i]);
        a.pos = gemmi::Position(atoms->xyz[3 * i], atoms->xyz[3 * i + 1], atoms->xyz[3 * i + 2]);
        a.occ = static_cast<float>(atoms->occ[i]);
        a.b_iso = static_cast<float>(atoms->b_iso[i]);
        if (atoms->aniso_U) {
            const double *u = atoms->aniso_U + 6 * i;
            a.aniso = {static_cast<float>(u[0]), static_cast<float>(u[1]), static_cast<float>(u[2]),
                       static_cast<float>(u[3]), static_cast<float>(u[4]), static_cast<float>(u[5])};
        }
    }
    gemmi::Chain chain("A");
    chain.residues.push_back(std::move(res));
    gemmi::Model model("1");
    model.chains.push_back(std::move(chain));
    s.models.push_back(std::move(model));
    return s;
}

/* ------------------------------------------------------------- symmetry */

nb_status find_group(const char *name, const double *cell, const gemmi::SpaceGroup **sg, nb_error *err)
{
    *sg = name ? gemmi::find_spacegroup_by_name(name, cell ? cell[3] : 0.0, cell ? cell[5] : 0.0) : nullptr;
    if (!*sg)
        return fail(err, NB_ERR_INVALID, "spacegroup '%s': not a space group (give its symbol, e.g. 'P 21 21 21', "
                    "or its number)", name ? name : "(null)");
    if (cell) {
        gemmi::UnitCell uc(cell[0], cell[1], cell[2], cell[3], cell[4], cell[5]);
        if (!uc.is_compatible_with_spacegroup(*sg, 1e-3))
            return fail(err, NB_ERR_INVALID, "spacegroup '%s' does not fit the cell %g %g %g %g %g %g "
                        "(its crystal system needs other lengths or angles)", (*sg)->xhm().c_str(), cell[0],
                        cell[1], cell[2], cell[3], cell[4], cell[5]);
    }
    return NB_OK;
}

nb_status expand(const char *spacegroup, const nbi_refl_list *in, nbi_refl_list *out, nb_error *err)
{
    const gemmi::SpaceGroup *sg;
    nb_status st = find_group(spacegroup, nullptr, &sg, err);
    if (st != NB_OK)
        return st;
    const gemmi::GroupOps ops = sg->operations();
    std::vector<nbi_refl> v;
    int lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    v.reserve(in->n * ops.sym_ops.size() * 2);
    for (size_t i = 0; i < in->n; ++i) {
        const nbi_refl &e = in->v[i];
        for (const gemmi::Op &op : ops.sym_ops) {
            const gemmi::Miller m = op.apply_to_hkl({{e.h, e.k, e.l}});
            for (int sign = 1; sign >= (e.friedel ? -1 : 1); sign -= 2) {
                const nbi_refl r = {sign * m[0], sign * m[1], sign * m[2], 0, e.F};
                const int idx[3] = {r.h, r.k, r.l};
                for (int a = 0; a < 3; ++a) {
                    if (v.empty() || idx[a] < lo[a]) lo[a] = idx[a];
                    if (v.empty() || idx[a] > hi[a]) hi[a] = idx[a];
                }
                v.push_back(r);
            }
        }
    }
    if ((double)(hi[0] - lo[0] + 1) * (hi[1] - lo[1] + 1) * (hi[2] - lo[2] + 1) > 2e8)
        return fail(err, NB_ERR_RANGE, "structure factors: indices %d..%d, %d..%d, %d..%d are too wide a grid",
                    lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]);
    if (!v.empty())
        for (int h = lo[0]; h <= hi[0]; ++h)
            for (int k = lo[1]; k <= hi[1]; ++k)
                for (int l = lo[2]; l <= hi[2]; ++l)
                    if (ops.is_systematically_absent({{h, k, l}})) {
                        const nbi_refl r = {h, k, l, 0, 0.0};
                        v.push_back(r);
                    }
    *out = *in;
    out->v = nullptr;
    out->n = 0;
    return give(v, out, err);
}

/* Runs f, turning an exception into a status. */
template <typename Fn> nb_status guarded(const char *what, nb_error *err, Fn f)
{
    try {
        return f();
    } catch (const std::bad_alloc &) {
        return fail(err, NB_ERR_NOMEM, "%s: out of memory", what);
    } catch (const std::exception &e) {
        const char *msg = e.what();
        const bool io = std::strstr(msg, "Failed to open") || std::strstr(msg, "No such file");
        /* gemmi's messages often start with the file name already */
        const bool named = std::strstr(msg, what) != nullptr;
        return fail(err, io ? NB_ERR_IO : NB_ERR_FORMAT, "%s%s%s", named ? "" : what, named ? "" : ": ", msg);
    } catch (...) {
        return fail(err, NB_ERR_FORMAT, "%s: unreadable", what);
    }
}

void clear(nbi_refl_list *out) { std::memset(out, 0, sizeof *out); }

} // namespace

extern "C" {

int nbi_sfio_available(void) { return 1; }

nb_status nbi_sfio_read_mtz(const char *path, const char *column, nbi_refl_list *out, nb_error *err)
{
    clear(out);
    return guarded(path, err, [&] { return read_mtz(path, column, out, err); });
}

nb_status nbi_sfio_read_sfcif(const char *path, const char *column, nbi_refl_list *out, nb_error *err)
{
    clear(out);
    return guarded(path, err, [&] { return read_sfcif(path, column, out, err); });
}

nb_status nbi_sfio_model_header(const char *path, nbi_refl_list *out, nb_error *err)
{
    clear(out);
    return guarded(path, err, [&] { return model_header(path, out, err); });
}

nb_status nbi_sfio_model_sf(const char *path, const char *spacegroup, const double *cell, double inv_d_max,
                            const double *bulk, nbi_refl_list *out, nb_error *err)
{
    clear(out);
    return guarded(path, err, [&] { return model_sf(path, spacegroup, cell, inv_d_max, bulk, out, err); });
}

nb_status nbi_sfio_element(const char *symbol, nb_error *err)
{
    return guarded("element", err, [&] {
        const gemmi::Element el(symbol);
        if (el.elem == gemmi::El::X || !gemmi::IT92<double>::has(el.elem))
            return fail(err, NB_ERR_INVALID, "element '%s': not an element with a form factor (International "
                        "Tables 1992): give its symbol, e.g. C, N, O, Fe", symbol);
        return NB_OK;
    });
}

nb_status nbi_sfio_atoms_sf(const nbi_atoms *atoms, const char *name, const char *spacegroup, const double *cell,
                            double inv_d_max, const double *bulk, nbi_refl_list *out, nb_error *err)
{
    clear(out);
    return guarded(name, err, [&] {
        gemmi::Structure s = structure_of(atoms);
        return structure_sf(s, name, spacegroup, cell, inv_d_max, bulk, out, err);
    });
}

nb_status nbi_sfio_spacegroup(const char *name, const double *cell, char xhm[32], nb_error *err)
{
    return guarded("spacegroup", err, [&] {
        const gemmi::SpaceGroup *sg;
        nb_status st = find_group(name, cell, &sg, err);
        if (st == NB_OK)
            std::snprintf(xhm, 32, "%s", sg->xhm().c_str());
        return st;
    });
}

nb_status nbi_sfio_expand(const char *spacegroup, const nbi_refl_list *in, nbi_refl_list *out, nb_error *err)
{
    clear(out);
    return guarded("space-group expansion", err, [&] { return expand(spacegroup, in, out, err); });
}

} /* extern "C" */
