#ifndef TDM_CX264_SHIM_H
#define TDM_CX264_SHIM_H
/* libx264's header gives the types; nothing links against the library. VideoIO's H.264 MP4 writer
 * (Sources/VideoIO/H264Encoder.swift) opens libx264 with dlopen and calls it directly, without libavcodec:
 * libavcodec brings ~95 codec libraries whose loading cost a single-clip `sample` ~30 ms of CPU, while
 * libx264 needs 4. The encoder is configured exactly as FFmpeg's libx264 wrapper configures it for
 * VideoWriter's settings, so the H.264 bitstream is the same bytes either way (tested). */
#include <stdint.h>
#include <stddef.h>
#include <x264.h>
#include <dlfcn.h>

#define CX264_STRINGIFY_(x) #x
#define CX264_STRINGIFY(x) CX264_STRINGIFY_(x)

/* The file name of the libx264 of this header's ABI (x264_param_t's layout changes with X264_BUILD). */
static inline const char *_Nonnull cx264_soname(void) { return "libx264.so." CX264_STRINGIFY(X264_BUILD); }

/* The libx264 functions the writer calls. x264_encoder_open is a macro naming the versioned symbol
 * (x264_encoder_open_164), which is what dlsym must look up. */
struct cx264_api {
    __typeof__(&x264_param_default_preset) _Nonnull param_default_preset;
    __typeof__(&x264_param_parse) _Nonnull param_parse;
    __typeof__(&x264_picture_init) _Nonnull picture_init;
    __typeof__(&x264_encoder_open) _Nonnull encoder_open;
    __typeof__(&x264_encoder_headers) _Nonnull encoder_headers;
    __typeof__(&x264_encoder_encode) _Nonnull encoder_encode;
    __typeof__(&x264_encoder_delayed_frames) _Nonnull encoder_delayed_frames;
    __typeof__(&x264_encoder_close) _Nonnull encoder_close;
};

/* Fills `api` from the opened library. Returns NULL when every function was found, else the missing name. */
static inline const char *_Nullable cx264_resolve(struct cx264_api *_Nonnull api, void *_Nonnull handle) {
#define CX264_RESOLVE(field, symbol) \
    { void *f = dlsym(handle, symbol); if (f == NULL) return symbol; *(void **)&api->field = f; }
    CX264_RESOLVE(param_default_preset, "x264_param_default_preset")
    CX264_RESOLVE(param_parse, "x264_param_parse")
    CX264_RESOLVE(picture_init, "x264_picture_init")
    CX264_RESOLVE(encoder_open, CX264_STRINGIFY(x264_encoder_open))
    CX264_RESOLVE(encoder_headers, "x264_encoder_headers")
    CX264_RESOLVE(encoder_encode, "x264_encoder_encode")
    CX264_RESOLVE(encoder_delayed_frames, "x264_encoder_delayed_frames")
    CX264_RESOLVE(encoder_close, "x264_encoder_close")
#undef CX264_RESOLVE
    return NULL;
}

/* Opens an encoder for 8-bit yuv420p pictures of width x height (even) at fps_num/fps_den frames per second
 * (pts in units of 1/fps), with the settings VideoWriter asks FFmpeg's libx264 wrapper for: preset veryfast,
 * CRF `crf`, mbtree off, a keyframe at least every `keyint` frames, closed GOPs, `threads` threads (0: x264's
 * automatic count), square pixels, BT.709 limited-range colour tags, and SPS/PPS kept out of the frames (the
 * MP4 sample description carries them). NAL units come with 4-byte big-endian lengths (what MP4 stores),
 * not start codes. Returns NULL if x264 refuses the parameters. */
static inline x264_t *_Nullable cx264_open(const struct cx264_api *_Nonnull api, int width, int height,
                                           int fps_num, int fps_den, int crf, int keyint, int threads) {
    x264_param_t p;
    if (api->param_default_preset(&p, "veryfast", NULL) < 0) return NULL;
    p.i_log_level = X264_LOG_NONE;
    p.i_csp = X264_CSP_I420;
    p.rc.i_rc_method = X264_RC_CRF;
    p.rc.f_rf_constant = (float)crf;
    p.i_keyint_max = keyint;
    p.i_width = width;
    p.i_height = height;
    p.vui.i_sar_width = 1;
    p.vui.i_sar_height = 1;
    p.i_fps_num = (uint32_t)fps_num;
    p.i_fps_den = (uint32_t)fps_den;
    p.i_timebase_num = (uint32_t)fps_den;
    p.i_timebase_den = (uint32_t)fps_num;
    p.i_threads = threads;
    p.b_open_gop = 0;
    p.vui.b_fullrange = 0;
    p.vui.i_colorprim = 1;   /* BT.709 (H.264 Table E-3) */
    p.vui.i_transfer = 1;
    p.vui.i_colmatrix = 1;
    p.b_repeat_headers = 0;
    p.b_annexb = 0;
    if (api->param_parse(&p, "mbtree", "0") < 0) return NULL;
    return api->encoder_open(&p);
}

/* Encodes one picture (planes/strides of yuv420p, presentation time pts), or flushes one delayed frame when
 * planes is NULL. Returns the bytes written to *nals/*count (0: nothing came out yet), negative on error;
 * *out_pts, *out_dts and *keyframe describe the frame that came out. */
static inline int cx264_encode(const struct cx264_api *_Nonnull api, x264_t *_Nonnull encoder,
                               uint8_t *_Nullable const *_Nullable planes, const int *_Nullable strides, int64_t pts,
                               x264_nal_t *_Nullable *_Nonnull nals, int *_Nonnull count,
                               int64_t *_Nonnull out_pts, int64_t *_Nonnull out_dts, int *_Nonnull keyframe) {
    x264_picture_t in, out;
    api->picture_init(&in);
    in.img.i_csp = X264_CSP_I420;
    in.img.i_plane = 3;
    if (planes != NULL && strides != NULL) {
        for (int i = 0; i < 3; i++) { in.img.plane[i] = planes[i]; in.img.i_stride[i] = strides[i]; }
        in.i_pts = pts;
        in.i_type = X264_TYPE_AUTO;
    }
    int size = api->encoder_encode(encoder, nals, count, planes != NULL ? &in : NULL, &out);
    if (size > 0) { *out_pts = out.i_pts; *out_dts = out.i_dts; *keyframe = out.b_keyframe; }
    return size;
}
#endif
