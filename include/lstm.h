/*
 * lstm.h -- the public C API of liblstm.
 *
 * liblstm trains and runs LSTM sequence models with Keras's semantics: the same layers, gate
 * order, weight shapes, initializers, losses and optimizer updates. Models are described with
 * Keras's own JSON, so an architecture moves between Keras and this library unchanged.
 *
 * If it is not in this header, it is not API.
 *
 * Conventions
 * -----------
 * - Every fallible call returns an lstm_status; LSTM_OK is 0. On failure a call writes nothing
 *   to its out-parameters and leaves a message for lstm_last_error(). The message is kept per
 *   thread and stays valid until the same thread's next lstm_ call; a successful call leaves it
 *   empty ("").
 * - Objects are opaque and come in pairs (lstm_X_new / lstm_X_load and lstm_X_free); freeing
 *   NULL does nothing. The caller owns every buffer it passes: the library keeps no pointer to
 *   a caller's buffer after the call returns.
 * - Sizes are size_t, data is float (float32), arrays are row-major C order. Sequences are
 *   [batch][timesteps][features]. Token ids for an Embedding input are passed as floats.
 * - Thread safety: a `const lstm_model *` may be used by any number of threads at once
 *   (predict, step with separate states, evaluate, to_json). Calls that take `lstm_model *`
 *   (compile, fit, load weights) need exclusive access. An lstm_state belongs to one thread at
 *   a time.
 * - Threads of its own: predict, evaluate and fit split large batches (about 2 million
 *   multiply-adds and 8 samples or more) over the CPU's cores, on helper threads started by the
 *   first such call and parked between calls. Results do not depend on the thread count.
 *   Environment: LSTM_NUM_THREADS=1 keeps all work on the calling thread (N: at most N
 *   threads); LSTM_KERNELS=baseline, avx2 or avx512 picks that build of the kernels (when the
 *   CPU runs it) instead of the best one the CPU runs. Both are read once, at the first call that needs them. The helpers live until the
 *   library is unloaded: dlclose() (and process exit) stops and joins them first, so a program
 *   may dlopen() and dlclose() the library as often as it likes, once no call is running.
 * - Nothing here aborts the process: NULL pointers, wrong sizes, NaN, malformed JSON and
 *   unsupported layers all come back as a status with a message naming what was wrong.
 * - Callbacks (fit's and evaluate's) must return normally. A C++ exception, a longjmp or a
 *   thread cancellation that leaves a callback unwinds through frames of the library that
 *   cannot clean up: locks stay held, memory leaks, the model is left mid-update. Catch
 *   everything inside the callback and return nonzero to stop instead (lstm.hpp's callbacks
 *   do this for you and rethrow once the call has returned).
 * - Architecture and training configuration use Keras's own JSON: the `config.json` of a
 *   .keras file, or the `model_config` attribute of an .h5 file.
 */
#ifndef LSTM_H
#define LSTM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------- */
/* Version and errors                                                                        */
/* ---------------------------------------------------------------------------------------- */

#define LSTM_VERSION_MAJOR 0
#define LSTM_VERSION_MINOR 2
#define LSTM_VERSION_PATCH 0
#define LSTM_VERSION_NUMBER (LSTM_VERSION_MAJOR*10000 + LSTM_VERSION_MINOR*100 + LSTM_VERSION_PATCH)
/* "MAJOR.MINOR.PATCH" of this header, for messages. */
#define LSTM_VERSION_STRINGIFY_(x) #x
#define LSTM_VERSION_STRING_(a, b, c) LSTM_VERSION_STRINGIFY_(a) "." LSTM_VERSION_STRINGIFY_(b) "." LSTM_VERSION_STRINGIFY_(c)
#define LSTM_VERSION_STRING LSTM_VERSION_STRING_(LSTM_VERSION_MAJOR, LSTM_VERSION_MINOR, LSTM_VERSION_PATCH)

/* On every function that returns an lstm_status: the compiler warns when a call ignores it
   (an unchecked failure is the commonest embedding bug). Define LSTM_NODISCARD as empty before
   including this header to turn the warning off. (GCC's C attribute is not silenced by a
   (void) cast; C23 and C++17 get [[nodiscard]], which is.) */
#ifndef LSTM_NODISCARD
#  if defined(__cplusplus) && __cplusplus >= 201703L
#    define LSTM_NODISCARD [[nodiscard]]
#  elif defined(__STDC_VERSION__) && __STDC_VERSION__ > 201710L
#    define LSTM_NODISCARD [[nodiscard]]
#  elif defined(__GNUC__) || defined(__clang__)
#    define LSTM_NODISCARD __attribute__((warn_unused_result))
#  else
#    define LSTM_NODISCARD
#  endif
#endif

/* The version of the library actually loaded, as LSTM_VERSION_NUMBER computes it. Never fails.
   A program built with this header may be run with another build of the library (the
   SONAME, liblstm.so.MAJOR, only pins the major version), so check before the first call:

       if (lstm_version_number() != LSTM_VERSION_NUMBER) {
           fprintf(stderr, "built with liblstm %s headers but running liblstm %s\n",
                   LSTM_VERSION_STRING, lstm_version_string());
           return 1;
       }

   (Within one major version the library only grows: a newer minor keeps every function and
   struct field of an older one, and structs carry their size, so `>=` is enough for a program
   that uses nothing newer than its header.) */
unsigned    lstm_version_number(void);
/* The version of the library actually loaded, e.g. "0.2.0". Static text; never fails. */
const char *lstm_version_string(void);

typedef enum lstm_status {
    LSTM_OK = 0,
    LSTM_ERROR_ARGUMENT,     /* NULL pointer, zero or absurd size, option out of range */
    LSTM_ERROR_SHAPE,        /* array size or file weight shape does not match the model */
    LSTM_ERROR_STATE,        /* call not valid now (fit or evaluate before compile, a state of another model or kind) */
    LSTM_ERROR_IO,           /* cannot open, read or write a file */
    LSTM_ERROR_FORMAT,       /* not a Keras file this library understands, or damaged; malformed JSON */
    LSTM_ERROR_UNSUPPORTED,  /* layer, activation, loss, optimizer or option not implemented */
    LSTM_ERROR_NUMERIC,      /* NaN/Inf in the data, or training diverged */
    LSTM_ERROR_MEMORY,       /* allocation failed or would exceed a sane limit */
    LSTM_ERROR_CANCELLED,    /* a callback asked to stop */
    LSTM_ERROR_INTERNAL
} lstm_status;

/* The enumerator's name as static text, e.g. "LSTM_ERROR_SHAPE"; "LSTM_ERROR_UNKNOWN" for a
   value outside the enum. Never fails; does not touch lstm_last_error(). */
const char *lstm_status_name(lstm_status s);

/* The message of this thread's last failed lstm_ call ("" after a successful one). The pointer
   stays valid until this thread's next lstm_ call (other than lstm_last_error and
   lstm_status_name). Never NULL. */
const char *lstm_last_error(void);

/* What this thread's last lstm_ call left to tell although it succeeded ("" when nothing):
   today, a file read by its content because its name says another format (an HDF5 file named
   .keras, as older tf.keras wrote them). Notes are joined with "; ". The pointer stays valid
   until this thread's next lstm_ call (other than lstm_last_error, lstm_last_warning and
   lstm_status_name). Never NULL. */
const char *lstm_last_warning(void);

/* ---------------------------------------------------------------------------------------- */
/* Models                                                                                    */
/* ---------------------------------------------------------------------------------------- */

/* A model: a graph of layer calls (a chain for Sequential models), its weights and, once
   compiled, loss and optimizer state. */
typedef struct lstm_model lstm_model;

/* Builds a model from Keras JSON: a Sequential or functional config as in a .keras file's
   config.json or an .h5 file's model_config (Keras 3 and Keras 2 / tf-keras; Keras 3
   `batch_shape` or Keras 2 `batch_input_shape` inputs; a null timestep count means any
   length). A config that carries a `compile_config` (as Keras 3's config.json does) comes back
   compiled.
   Layers: InputLayer, LSTM, GRU, SimpleRNN (return_sequences, return_state, go_backwards,
   initial_state from other tensors), Bidirectional, Embedding, Dense, Concatenate, Add,
   Subtract, Multiply, Average, Maximum, Minimum, and the layers around them (Conv1D, the
   poolings, Dropout and the noise layers, the normalizations, the activation and reshaping
   layers, TimeDistributed: the README lists them); a layer called several times shares its
   weights; Embedding(mask_zero), Masking and Keras 3's mask= call arguments mask padded steps;
   stateful layers carry their state through lstm_model_run_stateful; trainable=false freezes a
   layer; L1/L2/L1L2 regularizers (kernel_, recurrent_, bias_, embeddings_, gamma_, beta_,
   alpha_ and activity_regularizer) add Keras's penalties to the loss of fit and evaluate.
   Options that change the math but are not implemented (constraints, ...) fail with
   LSTM_ERROR_UNSUPPORTED naming the option and the layer; options that do not (name, dtype,
   initializer configs) are accepted.
   Weights are initialised as Keras does (glorot_uniform kernels, orthogonal recurrent kernels,
   zero biases with the forget gate's block at 1 when unit_forget_bias), from a generator seeded
   with `seed`: the same seed gives the same weights.
   On success *out owns a new model; free it with lstm_model_free.
   Errors: ARGUMENT (NULL), FORMAT (malformed JSON or not a Sequential config), UNSUPPORTED,
   SHAPE (layers that do not fit together), MEMORY. */
LSTM_NODISCARD lstm_status lstm_model_from_json(const char *keras_json, uint64_t seed, lstm_model **out);

/* File names: one rule for every load and save. The suffix says the format, in any case:
   .keras a zip archive (config.json, metadata.json, model.weights.h5): a whole model;
   .weights.h5 (.weights.hdf5) weights in Keras 3's layout; .h5 (.hdf5) a legacy full model
   (lstm_model_save) or Keras 2-layout weights (lstm_model_save_weights). Any other name is
   refused with ARGUMENT listing these. A load checks that the bytes are what the name says
   and otherwise says what they are instead ("a .keras file is a zip archive; this one is text
   starting with ...", "... is not an HDF5 file: it is JSON text"); a path that is not a
   regular file is refused before it is opened ("is a directory", "a FIFO"), and so is an empty
   file. */

/* Whole model from a file Keras wrote or this library wrote: .keras (zip: config.json,
   model.weights.h5), or .h5 with a model_config attribute (Keras 3 and Keras 2 / tf-keras
   styles). The math follows the Keras that wrote the file (Keras 2's hard_sigmoid is
   0.2x + 0.5, Keras 3's x/6 + 0.5). The compile config is restored when the file has one
   this library supports (else the model comes back uncompiled, ready for inference), and so is
   the optimizer state of a .keras file, so training resumes where Keras stopped. The file's
   metrics are kept where the library has them and dropped otherwise (see lstm_model_compile).
   Errors: ARGUMENT (a name of no known format), IO (cannot read, not a regular file), FORMAT
   (not a Keras model file, empty, or damaged),
   UNSUPPORTED (a layer or option not implemented), SHAPE (weights that do not fit the config). */
LSTM_NODISCARD lstm_status lstm_model_load(const char *path, lstm_model **out);

/* Files whose graph holds layers that cannot run here (a Lambda: its Python code is never run
   from a file; a user's own layer class; a Keras class or option not implemented):
   lstm_model_load builds the part of the graph that computes the model's outputs needing none
   of them, leaving the others out with a note in lstm_last_warning naming the layer, and
   refuses (UNSUPPORTED, naming the layer and its class) only when every output needs one. This
   call builds the part that computes the `count` tensors named in `outputs` instead, as Keras
   users write Model(inputs, model.get_layer(name).output): "name" is a layer's output (of its
   first call), "name:k" its output k; the model's inputs are those the part reads, in the
   file's order. Such a part comes back uncompiled; its layers take their weights by name.
   Errors: as lstm_model_load; ARGUMENT (outputs NULL or count 0, an unknown layer name),
   UNSUPPORTED (a named output that needs a layer that cannot run, naming it). */
LSTM_NODISCARD lstm_status lstm_model_load_outputs(const char *path, const char *const *outputs, size_t count,
                                                   lstm_model **out);

/* Frees a model and everything it owns. NULL is a no-op. States made from it keep what they
   need: they may be freed (and reset) afterwards, and a call through the freed model that a
   state still holds returns LSTM_ERROR_ARGUMENT ("was freed"); the model's memory goes with
   its last state. Using a model pointer after free with no state of it left is undefined. */
void        lstm_model_free(lstm_model *m);

/* Writes the model's Keras 3 JSON (the config.json of a .keras file, with its
   compile_config once compiled) to buf. Writes at most `cap` bytes including the terminating
   NUL (a longer text is cut and still NUL-terminated when cap > 0); *len gets the full length
   without the NUL, so a call with buf NULL and cap 0 asks for the size. Thread-safe. One
   extension: a model that runs Keras 2's hard_sigmoid (clip(0.2x + 0.5, 0, 1), loaded from a
   Keras 1 or 2 file) names it "hard_sigmoid_keras2", which lstm_model_from_json reads back and
   Keras refuses (Keras 3's "hard_sigmoid" is another function); lstm_model_save refuses such
   a model by name.
   Errors: ARGUMENT (m or len NULL, buf NULL with cap > 0), UNSUPPORTED (a setting Keras 3
   cannot express). */
LSTM_NODISCARD lstm_status lstm_model_to_json(const lstm_model *m, char *buf, size_t cap, size_t *len);

/* The model's input shape per sample. *timesteps is 0 when the model accepts any length; an
   input of token ids (an Embedding model) has one feature. For a model with several inputs,
   the first's (see lstm_model_input_info). Either out-pointer may be NULL when not wanted. */
LSTM_NODISCARD lstm_status lstm_model_input_shape(const lstm_model *m, size_t *timesteps, size_t *features);

/* Floats that one sample's output holds for an input of `timesteps` steps (timesteps 0 means
   the model's own fixed length). E.g. units for LSTM(units) -> ..., timesteps*units for a last
   layer that returns sequences.
   Errors: ARGUMENT (NULL, timesteps 0 for a model of any length, a model with several inputs
   or outputs: use lstm_model_output_shapes), SHAPE (timesteps differs from the model's fixed
   length). */
LSTM_NODISCARD lstm_status lstm_model_output_size(const lstm_model *m, size_t timesteps, size_t *size);

/* Floats that one sample's target holds for the compiled loss (what lstm_model_fit and
   lstm_model_evaluate read per sample): the output size, or for sparse_categorical_crossentropy
   one class id per output position (the output size / classes). Before compile: the output size.
   Errors: as lstm_model_output_size. */
LSTM_NODISCARD lstm_status lstm_model_target_size(const lstm_model *m, size_t timesteps, size_t *size);

/* Loads weights: a .weights.h5 file (Keras 3 layout, also written by tf-keras), legacy .h5
   weights (Keras 2 layout: layers matched by position, as Keras does), or the weights inside a
   .keras or full .h5 file. The optimizer state is restored too when the file has it and the
   model is compiled with the same optimizer. Anything that does not fit (a missing layer, a
   weight of another shape) fails with LSTM_ERROR_SHAPE naming the layer, the weight and both
   shapes, and leaves the model exactly as it was. Needs exclusive access to m.
   Errors: ARGUMENT (a name of no known format), IO, FORMAT (not Keras weights, damaged), SHAPE,
   NUMERIC (NaN/Inf weights). */
LSTM_NODISCARD lstm_status lstm_model_load_weights(lstm_model *m, const char *path);

/* Writes the weights: a path ending in .weights.h5 gets the Keras 3 layout (with the optimizer
   state once compiled), which Keras 3 and tf-keras load_weights read; another .h5 (.hdf5) the
   legacy Keras 2 layout. Thread-safe.
   Errors: ARGUMENT (.keras, which holds a whole model, or a name of no known format), IO. */
LSTM_NODISCARD lstm_status lstm_model_save_weights(const lstm_model *m, const char *path);

/* Writes the whole model: a path ending in .keras gets a Keras 3 .keras file (config.json with
   the compile config, metadata.json, model.weights.h5 with the optimizer state) that
   keras.saving.load_model opens; a path ending in .h5 or .hdf5 gets the legacy full-model
   file. Thread-safe.
   Errors: ARGUMENT (.weights.h5, which holds weights only, or a name of no known format), IO,
   UNSUPPORTED (a setting Keras 3 cannot express, such as
   Keras 2's hard_sigmoid). */
LSTM_NODISCARD lstm_status lstm_model_save(const lstm_model *m, const char *path);

/* The model's inference graph as an ONNX file at `path` (a name ending in .onnx), for the
   runtimes models are deployed to (ONNX Runtime, TensorRT, OpenVINO, the browser): opset 17,
   IR version 8, the weights inside. Inputs and outputs keep their Keras names (a layer's further
   outputs get _1, _2, ...); inputs are float32 (token ids for an Embedding too, as here), the
   batch and open sequence lengths are dynamic. LSTM, GRU and SimpleRNN become ONNX's LSTM, GRU
   and RNN operators (Keras's gate orders, GRU's reset_after as linear_before_reset,
   go_backwards, initial states, return_state), Bidirectional one operator with direction
   "bidirectional" and its merge mode; Embedding, Dense, Conv1D, the poolings, the
   normalizations and the activation, merge, reshaping and TimeDistributed layers their ONNX
   operators; the noise layers (Dropout, ...) pass their input on. Masks (Masking, mask_zero, a
   mask= argument) are applied as Keras applies them. A stateful layer's state becomes graph
   inputs "<layer>_h" (and "<layer>_c"), zeros to start, and outputs "<layer>_h_out" (...) after
   the model's, which the caller feeds back on the next run. The file gives the library's
   outputs in ONNX Runtime to about 1e-6. Atomic, as every save.
   Errors: ARGUMENT (another suffix), UNSUPPORTED naming the layer, its class and what has no
   ONNX form here (an activation the recurrent operators lack, such as relu6 or selu, inside a
   recurrent layer), IO. Thread-safe on a shared model. */
LSTM_NODISCARD lstm_status lstm_model_export_onnx(const lstm_model *m, const char *path);

/* Reading model files (.keras, .h5, .weights.h5): the library reads them with its own HDF5 and
   zip readers, in the caller's process, without libhdf5 and without a global lock (loads on
   several threads run in parallel). A file may come from anywhere: every offset, size and count
   in it is checked against the file before use, and a damaged or hostile file gives
   LSTM_ERROR_FORMAT with a message saying what is wrong and where, never a crash. What a file
   could use to reach outside itself is refused with LSTM_ERROR_UNSUPPORTED naming it: external
   storage, soft and external links, virtual datasets, filters other than deflate, shuffle and
   fletcher32. Saving uses the library's own HDF5 writer (no libhdf5, no lock), whose files
   libhdf5, h5py and Keras read. */

/* All saves are atomic: the file is written under a temporary name in the same folder, flushed,
   then renamed over the target. A failed save leaves an existing file untouched and no
   temporary file behind. */

/* Number of floats in all weight arrays (Keras's "Total params"; the length of
   lstm_model_get_weights's buffer). */
LSTM_NODISCARD lstm_status lstm_model_param_count(const lstm_model *m, size_t *count);

/* Number of floats fit trains (Keras's "Trainable params"): all but those of frozen layers
   (Keras's trainable=False) and BatchNormalization's moving statistics, which fit updates
   itself. */
LSTM_NODISCARD lstm_status lstm_model_trainable_param_count(const lstm_model *m, size_t *count);
/* Whether fit trains weight array `index` (1) or not (0: a frozen layer's, a moving statistic). */
LSTM_NODISCARD lstm_status lstm_model_weight_trainable(const lstm_model *m, size_t index, int *trainable);
/* Freezes (trainable 0) or unfreezes (1) the layer named `layer`, Keras's layer.trainable. A
   compiled model's optimizer state starts over, as after compiling again (Keras applies the
   change at the next compile). Needs exclusive access to m.
   Errors: ARGUMENT (NULL, no layer of that name). */
LSTM_NODISCARD lstm_status lstm_model_set_layer_trainable(lstm_model *m, const char *layer, int trainable);

/* Number of weight arrays, as len(model.get_weights()) in Keras. */
LSTM_NODISCARD lstm_status lstm_model_weight_count(const lstm_model *m, size_t *count);

/* Weight array `index` (0 <= index < weight count): its name "layer/kernel",
   "layer/recurrent_kernel" or "layer/bias" (written to name, at most cap bytes including the
   NUL; name may be NULL when cap is 0), its rank (*ndim, 1 or 2) and its Keras shape
   (shape[0..ndim-1]; shape must hold 2 values). Errors: ARGUMENT (NULL, index out of range). */
LSTM_NODISCARD lstm_status lstm_model_weight_info(const lstm_model *m, size_t index, char *name, size_t cap,
                                                  size_t *ndim, size_t *shape);

/* The model's weights, copied in Keras's order and shapes (model.get_weights(): per layer
   kernel, recurrent_kernel, bias), all concatenated into one float array. `len` must equal
   lstm_model_param_count. get_weights is thread-safe; set_weights needs exclusive access and
   validates everything (size, NaN/Inf) before changing anything. */
LSTM_NODISCARD lstm_status lstm_model_get_weights(const lstm_model *m, float *w, size_t len);
LSTM_NODISCARD lstm_status lstm_model_set_weights(lstm_model *m, const float *w, size_t len);

/* ---------------------------------------------------------------------------------------- */
/* Inference                                                                                 */
/* ---------------------------------------------------------------------------------------- */

/* Runs a model of one input and one output on `batch` sequences (several inputs or outputs:
   lstm_model_run). x: batch * timesteps * features floats; y: batch * output_size floats (see
   lstm_model_output_size); y_len must equal that count. Token ids must be whole numbers in
   the Embedding's range (else ARGUMENT naming the value and its position). Thread-safe:
   any number of threads may predict with one model at once. Allocates its own scratch
   memory, proportional to min(batch, 256) * timesteps * units.
   Errors: ARGUMENT (NULL, batch or timesteps 0), SHAPE (timesteps differs from the model's
   fixed length, y_len wrong), NUMERIC (NaN or Inf in x), MEMORY. */
LSTM_NODISCARD lstm_status lstm_model_predict(const lstm_model *m, const float *x, size_t batch,
                                              size_t timesteps, float *y, size_t y_len);

/* ---------------------------------------------------------------------------------------- */
/* Streaming: one timestep at a time; the model stays read-only and shareable                */
/* ---------------------------------------------------------------------------------------- */

/* h and c of every recurrent layer, for one stream, plus the scratch memory one step needs
   (lstm_state_new); or the carried states of a stateful model's batch (lstm_state_new_batch). */
typedef struct lstm_state lstm_state;

/* A zero state for `m`. The state keeps what it needs of `m` (see lstm_model_free).
   Errors: ARGUMENT (NULL), UNSUPPORTED (a model of several inputs or outputs, a go_backwards
   or Bidirectional layer, which need the whole sequence, or a recurrent layer started from an
   initial state input). */
LSTM_NODISCARD lstm_status lstm_state_new(const lstm_model *m, lstm_state **out);
/* Back to the zero state, as at the start of a sequence. */
LSTM_NODISCARD lstm_status lstm_state_reset(lstm_state *s);
/* NULL is a no-op. */
void        lstm_state_free(lstm_state *s);

/* Feeds one timestep (x_t: `features` floats; one token id for an Embedding model) and writes
   the model's output for it: the output that lstm_model_predict over the sequence so far gives
   at its last step (for a last layer that returns sequences, that step's row). y_len must
   equal the *out of lstm_step_sizes (lstm_model_output_size counts whole sequences, and for a
   model of fixed length answers only for that length). A model built for a fixed number of
   timesteps steps on past it, as Keras's stateful layers run on over any length: the state
   carries on until lstm_state_reset. Allocates nothing. On error the state is unchanged.
   Errors: ARGUMENT (NULL), SHAPE (y_len), STATE (s was made for another model), NUMERIC (NaN or
   Inf in x_t). */
LSTM_NODISCARD lstm_status lstm_step(const lstm_model *m, lstm_state *s, const float *x_t, float *y, size_t y_len);

/* Floats lstm_step takes (*in) and writes (*out) per timestep; either may be NULL.
   Errors: ARGUMENT (m NULL), UNSUPPORTED (the model cannot stream; see lstm_state_new). */
LSTM_NODISCARD lstm_status lstm_step_sizes(const lstm_model *m, size_t *in, size_t *out);

/* ---------------------------------------------------------------------------------------- */
/* Training                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Sets loss and optimizer from Keras's compile config JSON, e.g.
   {"optimizer": "adam", "loss": "mse"} or
   {"optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}}, "loss": "mse"}.
   Losses, by name or class with Keras's aliases: mse, mae, mape, msle, huber (Huber with
   delta), log_cosh, poisson, hinge, squared_hinge, categorical_hinge, kl_divergence,
   cosine_similarity, binary_crossentropy (bce; BinaryCrossentropy with from_logits and
   label_smoothing), binary_focal_crossentropy (BinaryFocalCrossentropy: also gamma, alpha,
   apply_class_balancing), categorical_crossentropy (from_logits, label_smoothing) and
   sparse_categorical_crossentropy (from_logits, ignore_class: targets of that class count for
   nothing, as if masked). As Keras's TensorFlow backend does, the crossentropies work from the
   logits of an output made by a sigmoid or softmax (Dense, Conv1D or Activation as the output
   layer), so that saturated outputs keep a finite loss and a gradient. A sparse crossentropy's
   target is one class id (a whole number in [0, classes)) per output position: y holds
   n * output_size / classes floats. categorical_focal_crossentropy (alpha, gamma, from_logits,
   label_smoothing) is computed from the probabilities, as Keras computes it. ctc, dice, tversky
   and circle are refused ("not supported yet"). Optimizers, by name or
   class with Keras 3's options and defaults: SGD (momentum, nesterov), Adam (beta_1, beta_2,
   epsilon, amsgrad), AdamW (Adam with weight_decay 0.004), RMSprop (rho, momentum, epsilon,
   centered; Keras's default when "optimizer" is missing), Adagrad (initial_accumulator_value,
   epsilon), Adadelta (rho, epsilon), Adamax, Nadam (beta_1, beta_2, epsilon), Lion (beta_1,
   beta_2); on every one weight_decay, one of clipnorm, global_clipnorm, clipvalue, and a
   learning_rate that is a number or a Keras schedule ({"class_name": "ExponentialDecay",
   "config": {...}}; also InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay,
   CosineDecay, CosineDecayRestarts); use_ema with ema_momentum and ema_overwrite_frequency (the
   weights' moving averages, saved before the slots, copied into the weights every
   ema_overwrite_frequency updates and at the end of every fit call, as Keras's
   finalize_variable_values). loss_scale_factor and gradient_accumulation_steps are refused. The optimizer's variables are saved in .keras files in
   Keras's order and restored on load. Compiling again resets the optimizer state.
   For several outputs, "loss" may also be a list with one loss per output (null: that output
   trains on nothing) or a dict naming every output, and "loss_weights" a list or dict of
   numbers that weigh each output's loss in the total (as Keras's CompileLoss).
   Metrics ("metrics": a list, or for several outputs a list with one entry per output or a
   dict by output name), by name or class as Keras 3 takes them: accuracy / acc (binary for
   an output of width 1, sparse for a sparse loss, else categorical, as Keras resolves it),
   binary_accuracy (BinaryAccuracy with threshold), categorical_accuracy,
   sparse_categorical_accuracy, top_k_categorical_accuracy and
   sparse_top_k_categorical_accuracy (k, default 5), mse, mae, mape, msle,
   root_mean_squared_error, log_cosh_error, cosine_similarity, kl_divergence, poisson, hinge,
   squared_hinge, categorical_hinge, binary_crossentropy, categorical_crossentropy and
   sparse_categorical_crossentropy (with from_logits, label_smoothing). A metric reads the
   targets the loss takes (a sparse metric needs a sparse loss, and the other way round). Each
   is the mean over the real output positions (masked steps excluded, except by
   root_mean_squared_error, as in Keras) of the metric's value per position, computed on the
   predictions the loss sees; the crossentropy metrics read the logits of a sigmoid or softmax
   output when the loss does (a crossentropy), its clipped probabilities otherwise. Their log
   names (lstm_model_metric_name) are the names given, after the output's name when there
   are several outputs. "weighted_metrics" takes the same metrics, weighted by fit's and
   evaluate's sample or class weights (a name an unweighted metric has taken becomes
   "weighted_<name>", as in Keras). AUC, Precision, Recall, F1Score and the other Keras
   metrics are refused by name ("not supported yet").
   A saved model's compile config keeps the metrics the library has and drops the others.
   run_eagerly, steps_per_execution, jit_compile and auto_scale_loss steer only TensorFlow's
   execution and are accepted.
   Needs exclusive access to m.
   Errors: ARGUMENT (NULL, value out of range), FORMAT (malformed JSON), UNSUPPORTED. */
LSTM_NODISCARD lstm_status lstm_model_compile(lstm_model *m, const char *compile_json);

/* The learning rate of the next update: the optimizer's (as its float32 variable holds it), or
   its schedule's at the current update count.
   Errors: ARGUMENT (NULL), STATE (not compiled). */
LSTM_NODISCARD lstm_status lstm_model_learning_rate(const lstm_model *m, double *rate);

/* Sets the optimizer's learning rate, as Keras's `optimizer.learning_rate = rate`: the next
   updates use it and the optimizer state is kept (a save writes it). It may be called from fit's
   callbacks, between batches or epochs, as ReduceLROnPlateau and LearningRateScheduler do.
   Errors: ARGUMENT (NULL, rate not finite or <= 0), STATE (not compiled), UNSUPPORTED (a
   learning-rate schedule gives the rate). */
LSTM_NODISCARD lstm_status lstm_model_set_learning_rate(lstm_model *m, double rate);

/* Called after each epoch; epoch counts from 0; val_loss is NaN without validation data.
   Return nonzero to stop training after this epoch (lstm_model_fit then succeeds). */
typedef int (*lstm_epoch_callback)(void *user, size_t epoch, double loss, double val_loss);

/* Called after each batch's update with the running mean of the epoch's batch losses so far
   (what Keras's progress bar shows); batch counts from 0 up to batches - 1. Return nonzero to
   stop at once: lstm_model_fit then returns LSTM_ERROR_CANCELLED and the model keeps the weights
   reached after that batch (e.g. to stop on Ctrl-C). */
typedef int (*lstm_batch_callback)(void *user, size_t epoch, size_t batch, size_t batches, double loss);

/* Called with the values Keras's callbacks receive as `logs`, each with its name: "loss", then
   each compiled metric (see lstm_model_metric_name), and after an epoch with validation data
   "val_loss" and "val_" before each metric name. n names and values; both arrays are valid
   during the call only. As on_batch: the running means of the epoch's batches so far, with
   batch the batch just run (from 0); as on_epoch_logs: the epoch's values, with batch the
   number of batches it ran. Return nonzero to stop as the callback it stands beside does
   (on_batch_logs: at once, CANCELLED; on_epoch_logs: after this epoch, success). */
typedef int (*lstm_logs_callback)(void *user, size_t epoch, size_t batch, size_t n,
                                  const char *const *names, const double *values);

/* Data-parallel training (as Horovod and PyTorch's DDP do it): every worker process runs
   lstm_model_fit on its own shard of the data, with the same model, compile config and options,
   and a reducer that sums over all workers. liblstm_mpi (lstm_mpi.h) gives one over MPI; any
   all-reduce will do.

   sum must replace values[0 .. n_values) and stats[0 .. n_stats) by their element-wise sums
   over all workers, in place, and return 0; nonzero means the others could not be reached, and
   fit then fails with LSTM_ERROR_IO (the message quoting last_error(user) when given). Every
   worker's fit calls it the same number of times with the same sizes: at the start (batch
   counts, and a check that all start from the same weights), twice per batch (the loss's
   normalizers, then the gradients with the loss and metric sums), and after each epoch (the
   validation sums, the stop decision, and a check that all still hold the same weights).
   The callbacks' `user` is this struct's. */
typedef int (*lstm_sum_callback)(void *user, float *values, size_t n_values, double *stats, size_t n_stats);

typedef struct lstm_gradient_reducer {
    size_t struct_size;             /* sizeof(lstm_gradient_reducer) */
    size_t rank;                    /* this worker, 0 .. workers - 1 */
    size_t workers;
    lstm_sum_callback sum;
    const char *(*last_error)(void *user);  /* NULL, or why the last sum failed */
    void *user;
} lstm_gradient_reducer;

typedef struct lstm_fit_options {
    size_t   struct_size;        /* sizeof(lstm_fit_options): lets the struct grow */
    size_t   epochs;             /* 1 */
    size_t   batch_size;         /* 32 */
    int      shuffle;            /* 1: a fresh seeded shuffle every epoch; 0 keeps the order */
    float    validation_split;   /* 0: fraction in [0, 1) held out from the end of the data */
    uint64_t seed;               /* shuffling and dropout masks: the same seed repeats a fit */
    lstm_epoch_callback on_epoch; void *user;  /* NULL: no callback; the one user pointer goes to
                                                  both on_epoch and on_batch */
    lstm_batch_callback on_batch;              /* NULL: no callback (added in 0.1.0) */
    struct lstm_state *state;    /* NULL; for a model with stateful layers, a state of
                                    lstm_state_new_batch: batches of its size carry the states
                                    from batch to batch and epoch to epoch, as Keras's fit */
    lstm_logs_callback on_batch_logs;  /* NULL; every log value after each batch */
    lstm_logs_callback on_epoch_logs;  /* NULL; every log value after each epoch, before
                                          on_epoch */
    const struct lstm_tensor *sample_weight;  /* NULL; Keras's sample_weight: shape {n} (one weight per
                                          sample) or {n, timesteps} (one per timestep of outputs
                                          of that many steps). Each position's loss is multiplied
                                          by its weight and the sum divided by the number of
                                          positions (the real ones under a mask), as Keras's
                                          sum_over_batch_size; the validation split's weights
                                          weigh val_loss. Metrics are not weighted. */
    const float *class_weight;         /* NULL; Keras's class_weight for a single output: class c
                                          (a target's arg max, or its one value rounded) weighs
                                          class_weight[c], a class >= class_weight_count weighs 1;
                                          the training samples only, not val_loss (as Keras).
                                          Not together with sample_weight. */
    size_t class_weight_count;
    size_t steps_per_epoch;            /* 0: a whole pass over the data per epoch; else Keras's
                                          steps_per_epoch: each epoch runs that many batches,
                                          carrying on where the last one stopped; the epoch that
                                          reaches the end of the data stops there and the next
                                          starts a new pass (reshuffled) */
    const lstm_gradient_reducer *reducer;  /* NULL; data-parallel training (above): x and y are
                                          this worker's shard, batch_size rows per worker, and
                                          each update applies the gradient of the global batch
                                          (the union of the workers' batches): what one process
                                          fitting that union with batch_size * workers computes,
                                          up to float32 summation order. Every worker runs the
                                          same number of batches (a shorter shard contributes
                                          empty ones), the history, logs and val_loss are those
                                          of all workers, and when one worker's callback asks to
                                          stop, all stop together (a batch later, or after the
                                          epoch). Each worker shuffles its own shard and draws its
                                          own dropout masks. Not with steps_per_epoch, a stateful
                                          model, or a BatchNormalization layer that trains. */
} lstm_fit_options;

/* Fills *o with Keras's defaults (above) and struct_size. NULL is a no-op. */
void lstm_fit_options_init(lstm_fit_options *o);

/* Trains as Keras's fit does: each epoch shuffles (if asked), runs the batches in order (the
   last one may be smaller), and reports the batch-size-weighted mean of the batches' losses,
   each computed before that batch's update; with validation_split the last
   floor(n * validation_split) samples are held out before shuffling and their loss is
   val_loss.
   x as in predict (n sequences); y: n * output_size floats (for sparse_categorical_crossentropy
   n * output_size / classes class ids, see lstm_model_compile). opts NULL means defaults.
   history, if not NULL, gets one loss per finished epoch (history_cap values at most);
   *epochs_run (if not NULL) gets the number of epochs finished.
   Errors: STATE (not compiled), ARGUMENT, SHAPE, NUMERIC (NaN/Inf in x or y, or a loss or
   gradient that stopped being finite: training stops before that update, so the weights stay
   those of the last finite step), CANCELLED (on_batch asked to stop). After NUMERIC and
   CANCELLED, history and *epochs_run still tell how many epochs finished.
   The callbacks may call the const functions (predict, evaluate, get_weights) on m and
   lstm_model_set_learning_rate, not the others. Needs exclusive access to m. */
LSTM_NODISCARD lstm_status lstm_model_fit(lstm_model *m, const float *x, const float *y, size_t n,
                                          size_t timesteps, const lstm_fit_options *opts,
                                          double *history, size_t history_cap, size_t *epochs_run);

/* fit keeps its working memory for the next fit: the gradient arrays and the recurrent layers'
   tapes of its last batch shape (about the weights' size plus, for an LSTM,
   (11 x units + features) x batch x timesteps floats), so that a training loop calling fit
   once per batch allocates its tapes once. This frees it; the next fit allocates it again.
   lstm_model_free frees it too.
   Needs exclusive access to m. Errors: ARGUMENT (NULL). */
LSTM_NODISCARD lstm_status lstm_model_release_training_memory(lstm_model *m);

/* The compiled loss over n samples (batches of 32, weighted by size, as Keras's evaluate),
   with the regularization penalties Keras adds to it.
   Thread-safe. Errors: STATE (not compiled), ARGUMENT, SHAPE, NUMERIC. */
LSTM_NODISCARD lstm_status lstm_model_evaluate(const lstm_model *m, const float *x, const float *y, size_t n,
                                               size_t timesteps, double *loss);

/* ---------------------------------------------------------------------------------------- */
/* Graph models: several inputs and outputs (functional Keras models)                        */
/* ---------------------------------------------------------------------------------------- */

/* Every model, graph or chain, also takes its data as tensors. Inputs and outputs are numbered
   in Keras's order (model.inputs, model.outputs). Token ids are passed as floats. */
#define LSTM_MAX_RANK 4

typedef struct lstm_tensor {        /* an input (or a target): read only */
    const float *data;              /* shape[0] * ... * shape[rank-1] floats, row-major */
    size_t rank;                    /* 1..LSTM_MAX_RANK, the batch included: shape[0] is the batch */
    size_t shape[LSTM_MAX_RANK];
} lstm_tensor;

typedef struct lstm_tensor_out {    /* an output: the call writes data, rank and shape */
    float *data;
    size_t cap;                     /* floats that data holds; checked before anything is written */
    size_t rank;
    size_t shape[LSTM_MAX_RANK];
} lstm_tensor_out;

/* Number of model inputs and outputs. */
LSTM_NODISCARD lstm_status lstm_model_input_count(const lstm_model *m, size_t *n);
LSTM_NODISCARD lstm_status lstm_model_output_count(const lstm_model *m, size_t *n);

/* Name (written to name, at most cap bytes including the NUL; name may be NULL when cap is 0)
   and shape of input / output i: *rank counts the batch, shape gets *rank values (shape must
   hold LSTM_MAX_RANK), 0 for a dimension Keras leaves open (the batch, null timesteps). An
   output's name is its layer's ("dense", or "encoder[1]" for a layer's second output).
   Errors: ARGUMENT (NULL, i out of range). */
LSTM_NODISCARD lstm_status lstm_model_input_info(const lstm_model *m, size_t i, char *name, size_t cap,
                                                 size_t *rank, size_t *shape);
LSTM_NODISCARD lstm_status lstm_model_output_info(const lstm_model *m, size_t i, char *name, size_t cap,
                                                  size_t *rank, size_t *shape);

/* The output shapes these inputs give: fills rank and shape of each y[k] (data and cap are
   not touched). nx must equal the input count and ny the output count.
   Errors: ARGUMENT (NULL, counts, rank out of 1..LSTM_MAX_RANK, a zero or absurd dimension),
   SHAPE (an input's shape does not fit the model, inputs of different batch sizes). */
LSTM_NODISCARD lstm_status lstm_model_output_shapes(const lstm_model *m, const lstm_tensor *x, size_t nx,
                                                    lstm_tensor_out *y, size_t ny);

/* Forward pass (inference) on tensors: x[i] for input i, results into y[k] for output k (rank
   and shape written, data filled). Every y[k].cap is checked against its output's size before
   anything is written. Thread-safe, like lstm_model_predict.
   Errors: as lstm_model_output_shapes, and ARGUMENT (a data pointer NULL), SHAPE (a cap too
   small: the message names the output and the size it needs), NUMERIC (NaN or Inf). */
LSTM_NODISCARD lstm_status lstm_model_run(const lstm_model *m, const lstm_tensor *x, size_t nx,
                                          lstm_tensor_out *y, size_t ny);

/* Training and evaluation on tensors: y[k] is the target of output k, of the shape its loss
   takes (an output without a loss still takes one, unread); the total loss is the sum of the
   outputs' losses, weighted by loss_weights (see lstm_model_compile), and with several losses
   each output's own appears in the logs as "<output>_loss" (Keras's names). Otherwise as
   lstm_model_fit and lstm_model_evaluate. */
LSTM_NODISCARD lstm_status lstm_model_fit_tensors(lstm_model *m, const lstm_tensor *x, size_t nx,
                                                  const lstm_tensor *y, size_t ny, const lstm_fit_options *opts,
                                                  double *history, size_t history_cap, size_t *epochs_run);
LSTM_NODISCARD lstm_status lstm_model_evaluate_tensors(const lstm_model *m, const lstm_tensor *x, size_t nx,
                                                       const lstm_tensor *y, size_t ny, double *loss);

/* The compiled metrics: their number (0 before compile or without metrics) and the name of
   metric i as it appears in the logs ("accuracy", "dense_1_mae"), written to name (at most cap
   bytes including the NUL; NULL when cap is 0).
   Errors: ARGUMENT (NULL, i out of range). */
LSTM_NODISCARD lstm_status lstm_model_metric_count(const lstm_model *m, size_t *n);
LSTM_NODISCARD lstm_status lstm_model_metric_name(const lstm_model *m, size_t i, char *name, size_t cap);

/* As lstm_model_evaluate_tensors, with the loss weighted by sample_weight (NULL: none; as in
   lstm_fit_options), in batches of batch_size (0: Keras's 32; a masked output's
   loss is a mean per batch, so the batch size can change it, as in Keras), and the compiled
   metrics over the same samples into metrics[0 .. metric_count - 1] (Keras's evaluate values
   after the loss). metrics may be NULL when the model has no metrics; metrics_cap must hold
   them all. on_batch (NULL: none) gets the running values after each batch (epoch 0, batch
   from 0, names as in fit's logs), as Keras's on_test_batch_end; nonzero stops evaluate with
   LSTM_ERROR_CANCELLED. Thread-safe. Errors: as lstm_model_evaluate_tensors, and ARGUMENT
   (metrics_cap too small), CANCELLED. */
LSTM_NODISCARD lstm_status lstm_model_evaluate_metrics(const lstm_model *m, const lstm_tensor *x, size_t nx,
                                                       const lstm_tensor *y, size_t ny,
                                                       const lstm_tensor *sample_weight, size_t batch_size,
                                                       double *loss, double *metrics, size_t metrics_cap,
                                                       lstm_logs_callback on_batch, void *user);

/* Stateful layers (Keras's stateful=True): the final state of a call starts the next, for a
   batch of fixed size. Their states live in a caller-owned lstm_state made for that batch and
   carried from one lstm_model_run_stateful to the next until lstm_state_reset (Keras's
   reset_states); the model stays read-only, so several states may run one model at once.
   The stateless calls (predict, run, evaluate, and fit without opts->state) refuse a stateful
   model with LSTM_ERROR_UNSUPPORTED, since their answer would depend on how they split the data.
   Errors: ARGUMENT (NULL, batch 0, a model without stateful layers), SHAPE (a batch other than
   the input's fixed batch size, or than the state's), STATE (a state of lstm_state_new or of
   another model). To train a stateful model, give fit a batch state (opts->state). */
LSTM_NODISCARD lstm_status lstm_state_new_batch(const lstm_model *m, size_t batch, lstm_state **out);
LSTM_NODISCARD lstm_status lstm_model_run_stateful(const lstm_model *m, lstm_state *s, const lstm_tensor *x,
                                                   size_t nx, lstm_tensor_out *y, size_t ny);
/* Zero states for one stateful layer of a batch state (Keras's layer.reset_states()); the
   others keep theirs. Errors: ARGUMENT (NULL, no stateful layer of that name), STATE (a state
   of lstm_state_new). */
LSTM_NODISCARD lstm_status lstm_state_reset_layer(lstm_state *s, const char *layer);

/* Layers, for summaries and tools, in Keras's model.layers order (a functional model's inputs
   included, as Keras lists them). Text fields are NUL-terminated and cut to their size. */
#define LSTM_MAX_LAYER_OUTPUTS 4
typedef struct lstm_layer_info {
    size_t struct_size;             /* sizeof(lstm_layer_info): set it before the call */
    char   class_name[32];          /* Keras's class: "LSTM", "InputLayer", ... */
    char   name[128];
    size_t param_count;
    size_t output_count;            /* outputs of the layer's (first) call; at most LSTM_MAX_LAYER_OUTPUTS described */
    size_t output_rank[LSTM_MAX_LAYER_OUTPUTS];            /* the batch counted */
    size_t output_shape[LSTM_MAX_LAYER_OUTPUTS][LSTM_MAX_RANK];  /* 0: open */
    size_t call_count;              /* how many times the model calls it (shared layers: more than 1) */
    char   connected_to[256];       /* the tensors its calls read, Keras's way: "lstm[0][0], dense[0][0]" */
} lstm_layer_info;

LSTM_NODISCARD lstm_status lstm_model_layer_count(const lstm_model *m, size_t *n);
/* Errors: ARGUMENT (NULL, i out of range, info->struct_size smaller than this header's). */
LSTM_NODISCARD lstm_status lstm_model_layer_info(const lstm_model *m, size_t i, lstm_layer_info *info);

#ifdef __cplusplus
}
#endif

#endif /* LSTM_H */
