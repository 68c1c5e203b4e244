#ifndef TDM_CFFMPEG_SHIM_H
#define TDM_CFFMPEG_SHIM_H
/* FFmpeg's headers give the types, constants and function signatures; nothing links against the
 * libraries. The functions VideoIO calls are reached through `struct cffmpeg_api`, a table of function
 * pointers filled by `cffmpeg_resolve` from libraries opened with dlopen when video is first read or
 * written (Sources/VideoIO/FFmpegLibrary.swift). Start-up of every command is then free of libavcodec's
 * ~150 dependent libraries and their constructors (~45 ms on the 2-core machine). */
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>
#include <libavutil/pixdesc.h>
#include <dlfcn.h>
#include <stddef.h>

/* Swift cannot import function-like macros: wrap the few FFmpeg needs. */
static inline int cffmpeg_averror(int e) { return AVERROR(e); }
static inline int cffmpeg_averror_eof(void) { return AVERROR_EOF; }
static inline int cffmpeg_eagain(void) { return AVERROR(EAGAIN); }
static inline long long cffmpeg_nopts_value(void) { return (long long)AV_NOPTS_VALUE; }

/* The libraries, in load order (each after the ones it depends on); indices into the handle array. */
enum cffmpeg_library { cffmpeg_avutil = 0, cffmpeg_swscale = 1, cffmpeg_avcodec = 2, cffmpeg_avformat = 3,
                       cffmpeg_library_count = 4 };

/* Every FFmpeg function VideoIO uses, with the library that exports it. One list makes both the table's
 * fields (typed exactly as the headers declare the functions) and the resolver. */
#define CFFMPEG_FUNCTIONS(X) \
    X(cffmpeg_avutil, av_d2q) \
    X(cffmpeg_avutil, av_dict_free) \
    X(cffmpeg_avutil, av_dict_get) \
    X(cffmpeg_avutil, av_dict_set) \
    X(cffmpeg_avutil, av_frame_alloc) \
    X(cffmpeg_avutil, av_frame_free) \
    X(cffmpeg_avutil, av_frame_get_buffer) \
    X(cffmpeg_avutil, av_frame_make_writable) \
    X(cffmpeg_avutil, av_frame_unref) \
    X(cffmpeg_avutil, av_get_pix_fmt_name) \
    X(cffmpeg_avutil, av_log_set_level) \
    X(cffmpeg_avutil, av_pix_fmt_desc_get) \
    X(cffmpeg_avutil, av_strerror) \
    X(cffmpeg_swscale, sws_freeContext) \
    X(cffmpeg_swscale, sws_getCachedContext) \
    X(cffmpeg_swscale, sws_getCoefficients) \
    X(cffmpeg_swscale, sws_getColorspaceDetails) \
    X(cffmpeg_swscale, sws_getContext) \
    X(cffmpeg_swscale, sws_scale) \
    X(cffmpeg_swscale, sws_setColorspaceDetails) \
    X(cffmpeg_avcodec, av_packet_alloc) \
    X(cffmpeg_avcodec, av_packet_free) \
    X(cffmpeg_avcodec, av_packet_rescale_ts) \
    X(cffmpeg_avcodec, av_packet_unref) \
    X(cffmpeg_avcodec, avcodec_alloc_context3) \
    X(cffmpeg_avcodec, avcodec_find_encoder) \
    X(cffmpeg_avcodec, avcodec_find_encoder_by_name) \
    X(cffmpeg_avcodec, avcodec_free_context) \
    X(cffmpeg_avcodec, avcodec_open2) \
    X(cffmpeg_avcodec, avcodec_parameters_from_context) \
    X(cffmpeg_avcodec, avcodec_parameters_to_context) \
    X(cffmpeg_avcodec, avcodec_receive_frame) \
    X(cffmpeg_avcodec, avcodec_receive_packet) \
    X(cffmpeg_avcodec, avcodec_send_frame) \
    X(cffmpeg_avcodec, avcodec_send_packet) \
    X(cffmpeg_avformat, av_find_best_stream) \
    X(cffmpeg_avformat, av_guess_format) \
    X(cffmpeg_avformat, av_interleaved_write_frame) \
    X(cffmpeg_avformat, av_read_frame) \
    X(cffmpeg_avformat, av_write_trailer) \
    X(cffmpeg_avformat, avformat_alloc_output_context2) \
    X(cffmpeg_avformat, avformat_close_input) \
    X(cffmpeg_avformat, avformat_find_stream_info) \
    X(cffmpeg_avformat, avformat_free_context) \
    X(cffmpeg_avformat, avformat_new_stream) \
    X(cffmpeg_avformat, avformat_open_input) \
    X(cffmpeg_avformat, avformat_query_codec) \
    X(cffmpeg_avformat, avformat_write_header) \
    X(cffmpeg_avformat, avio_closep) \
    X(cffmpeg_avformat, avio_open)

#define CFFMPEG_FIELD(library, name) __typeof__(&name) _Nonnull name;
/* The resolved functions: `api.avcodec_open2(...)` calls libavcodec's avcodec_open2. */
struct cffmpeg_api { CFFMPEG_FUNCTIONS(CFFMPEG_FIELD) };
#undef CFFMPEG_FIELD

/* The subset of the table that converts RGB pictures to yuv420p (libavutil's frames, libswscale): what the
 * H.264 MP4 writer needs beside libx264 (Sources/VideoIO/H264MP4Writer.swift). libavutil and libswscale load in
 * ~2 ms; libavcodec and libavformat, which it does without, bring ~130 more libraries (~30 ms). */
#define CFFMPEG_PIXEL_FUNCTIONS(X) \
    X(cffmpeg_avutil, av_d2q) \
    X(cffmpeg_avutil, av_frame_alloc) \
    X(cffmpeg_avutil, av_frame_free) \
    X(cffmpeg_avutil, av_frame_get_buffer) \
    X(cffmpeg_avutil, av_frame_make_writable) \
    X(cffmpeg_avutil, av_log_set_level) \
    X(cffmpeg_avutil, av_strerror) \
    X(cffmpeg_swscale, sws_freeContext) \
    X(cffmpeg_swscale, sws_getCoefficients) \
    X(cffmpeg_swscale, sws_getContext) \
    X(cffmpeg_swscale, sws_scale) \
    X(cffmpeg_swscale, sws_setColorspaceDetails)

#define CFFMPEG_FIELD(library, name) __typeof__(&name) _Nonnull name;
struct cffmpeg_pixels_api { CFFMPEG_PIXEL_FUNCTIONS(CFFMPEG_FIELD) };
#undef CFFMPEG_FIELD

/* Number of functions in the table. */
#define CFFMPEG_COUNT_ONE(library, name) + 1
static inline int cffmpeg_function_count(void) { return 0 CFFMPEG_FUNCTIONS(CFFMPEG_COUNT_ONE); }
#undef CFFMPEG_COUNT_ONE

/* Fills `api` from the opened libraries `handles[cffmpeg_library_count]`. Returns NULL when every function
 * was found, else the name of the first missing one (and sets `*library` to its library's index). */
#define CFFMPEG_RESOLVE(lib, name) \
    { void *f = dlsym(handles[lib], #name); \
      if (f == NULL) { *library = (int)(lib); return #name; } \
      *(void **)&api->name = f; }
static inline const char *_Nullable cffmpeg_resolve(struct cffmpeg_api *_Nonnull api, void *_Nonnull const *_Nonnull handles,
                                                    int *_Nonnull library) {
    CFFMPEG_FUNCTIONS(CFFMPEG_RESOLVE)
    return NULL;
}

/* Fills the pixel table from libavutil and libswscale (`handles[2]`, in enum order). */
static inline const char *_Nullable cffmpeg_resolve_pixels(struct cffmpeg_pixels_api *_Nonnull api,
                                                           void *_Nonnull const *_Nonnull handles, int *_Nonnull library) {
    CFFMPEG_PIXEL_FUNCTIONS(CFFMPEG_RESOLVE)
    return NULL;
}
#undef CFFMPEG_RESOLVE
#endif
