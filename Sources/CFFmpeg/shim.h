#ifndef TDM_CFFMPEG_SHIM_H
#define TDM_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>

/* Swift cannot import function-like macros: wrap the few FFmpeg needs. */
static inline int cffmpeg_averror(int e) { return AVERROR(e); }
static inline int cffmpeg_averror_eof(void) { return AVERROR_EOF; }
static inline int cffmpeg_eagain(void) { return AVERROR(EAGAIN); }
static inline long long cffmpeg_nopts_value(void) { return (long long)AV_NOPTS_VALUE; }
#endif
