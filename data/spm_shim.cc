// The extern "C" shim over libsentencepiece's C++ API (see spm_shim.h).  No exception leaves this
// file: SentencePiece reports through util::Status, and allocation failures are caught here.
#include "data/spm_shim.h"

#include <sentencepiece_processor.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

struct spm {
    sentencepiece::SentencePieceProcessor proc;
};

static void set_why(char *why, size_t why_len, const std::string &msg)
{
    if (why && why_len)
        std::snprintf(why, why_len, "%s", msg.c_str());
}

extern "C" struct spm *spm_load(const void *model, size_t n, char *why, size_t why_len)
{
    try {
        spm *m = new spm;
        const auto status = m->proc.LoadFromSerializedProto(std::string(static_cast<const char *>(model), n));
        if (!status.ok()) {
            set_why(why, why_len, status.ToString());
            delete m;
            return nullptr;
        }
        return m;
    } catch (const std::exception &ex) {
        set_why(why, why_len, ex.what());
        return nullptr;
    }
}

extern "C" void spm_free(struct spm *m)
{
    delete m;
}

extern "C" int spm_piece_count(const struct spm *m)
{
    return m->proc.GetPieceSize();
}

extern "C" int spm_piece_id(const struct spm *m, const char *piece)
{
    try {
        int id = m->proc.PieceToId(piece);
        // PieceToId answers unk_id for a piece the model lacks; tell that apart from <unk> itself.
        return (id == m->proc.unk_id() && m->proc.IdToPiece(id) != piece) ? -1 : id;
    } catch (const std::exception &) {
        return -1;
    }
}

extern "C" int spm_encode(const struct spm *m, const char *text, int **ids, int *n, char *why, size_t why_len)
{
    try {
        std::vector<int> out;
        const auto status = m->proc.Encode(text, &out);
        if (!status.ok()) {
            set_why(why, why_len, status.ToString());
            return -1;
        }
        int *buf = static_cast<int *>(std::malloc((out.size() ? out.size() : 1) * sizeof(int)));
        if (!buf)
            throw std::bad_alloc();
        if (!out.empty())
            std::memcpy(buf, out.data(), out.size() * sizeof(int));
        *ids = buf;
        *n = static_cast<int>(out.size());
        return 0;
    } catch (const std::exception &ex) {
        set_why(why, why_len, ex.what());
        return -1;
    }
}

extern "C" int spm_decode(const struct spm *m, const int *ids, int n, char **text, char *why, size_t why_len)
{
    try {
        std::string out;
        const auto status = m->proc.Decode(std::vector<int>(ids, ids + n), &out);
        if (!status.ok()) {
            set_why(why, why_len, status.ToString());
            return -1;
        }
        char *buf = static_cast<char *>(std::malloc(out.size() + 1));
        if (!buf)
            throw std::bad_alloc();
        std::memcpy(buf, out.data(), out.size());
        buf[out.size()] = '\0';
        *text = buf;
        return 0;
    } catch (const std::exception &ex) {
        set_why(why, why_len, ex.what());
        return -1;
    }
}
