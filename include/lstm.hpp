/*
 * lstm.hpp -- a header-only C++17 face over liblstm's C API (lstm.h).
 *
 * Nothing here is new API: every call forwards to the lstm_ function of the same name, and
 * lstm.h documents what each does, who owns what and what is thread-safe. This header adds
 * what C++ programs expect around it:
 * - lstm::Model and lstm::State own their handles (move-only; the destructor frees them);
 * - a failed call throws lstm::Error, carrying the lstm_status and lstm_last_error()'s message;
 * - data goes in and out as std::vector<float>, or as a pointer and a size where a copy
 *   would cost;
 * - fit's callbacks are std::function: return true to stop. An exception thrown inside one
 *   stops the fit at once and is rethrown from fit(), after the library has returned: no
 *   exception ever unwinds through the C library (see lstm.h, "Callbacks").
 *
 *     lstm::Model model = lstm::Model::load("model.keras");
 *     std::vector<float> y = model.predict(x, batch, timesteps);
 *
 * Link with liblstm as a C program does (pkg-config --libs lstm, or CMake's lstm::lstm).
 */
#ifndef LSTM_HPP
#define LSTM_HPP

#include "lstm.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lstm {

/* A failed call: status() is the C status, what() reads "LSTM_ERROR_SHAPE: <message>". */
class Error : public std::runtime_error {
public:
    Error(lstm_status status, const std::string &message)
        : std::runtime_error(std::string(lstm_status_name(status)) + ": " + message), status_(status) {}
    lstm_status status() const noexcept { return status_; }

private:
    lstm_status status_;
};

namespace detail {
inline void check(lstm_status status) {
    if (status != LSTM_OK) throw Error(status, lstm_last_error());
}
}  // namespace detail

/* Whether the library loaded at run time is the version this header describes. A program
   built against one version and run with another should check it first (see lstm.h). */
inline bool header_matches_library() noexcept { return lstm_version_number() == LSTM_VERSION_NUMBER; }

/* lstm_last_warning: what this thread's last call noted although it succeeded ("" if nothing),
   e.g. a file read by its content. Read it right after the call it is about. */
inline std::string last_warning() { return lstm_last_warning(); }

/* An input (or target) tensor: `shape` counts the batch first; `data` holds the product of
   the shape's floats and must outlive the call it is passed to. */
struct Input {
    const float *data;
    std::vector<size_t> shape;

    Input(const float *values, std::vector<size_t> dims) : data(values), shape(std::move(dims)) {}
    /* Checks that `values` holds exactly the shape's floats. */
    Input(const std::vector<float> &values, std::vector<size_t> dims) : data(values.data()), shape(std::move(dims)) {
        size_t count = 1;
        for (size_t d : shape) count *= d;
        if (count != values.size())
            throw Error(LSTM_ERROR_SHAPE, "a tensor of shape " + describe() + " holds " + std::to_string(count) +
                                              " floats, the vector " + std::to_string(values.size()));
    }

    std::string describe() const {
        std::string text = "(";
        for (size_t k = 0; k < shape.size(); k++) text += (k ? ", " : "") + std::to_string(shape[k]);
        return text + ")";
    }
};

/* An output tensor as a call returned it. */
struct Output {
    std::vector<float> values;
    std::vector<size_t> shape;
};

/* One log value of fit or evaluate, by its Keras name ("loss", "val_accuracy"). */
struct LogValue {
    std::string name;
    double value;
};
using Logs = std::vector<LogValue>;

/* lstm_fit_options with C++ callbacks; the defaults are Keras's (lstm_fit_options_init). */
struct FitOptions {
    size_t epochs = 1;
    size_t batch_size = 32;
    bool shuffle = true;
    float validation_split = 0.0f;
    uint64_t seed = 0;
    size_t steps_per_epoch = 0;
    /* After each epoch; return true to stop after it (fit then succeeds). */
    std::function<bool(size_t epoch, double loss, double val_loss)> on_epoch;
    /* After each batch; return true to stop at once (fit then throws Error(LSTM_ERROR_CANCELLED)). */
    std::function<bool(size_t epoch, size_t batch, size_t batches, double loss)> on_batch;
    /* Every log value after each epoch, before on_epoch; true stops as on_epoch does. */
    std::function<bool(size_t epoch, const Logs &logs)> on_epoch_logs;
    /* Keras's class_weight for a single output (see lstm_fit_options.class_weight). */
    std::vector<float> class_weight;
    /* Data-parallel training: this worker's reducer (lstm_fit_options.reducer; liblstm_mpi's
       lstm_mpi::reducer over MPI), or nullptr. */
    const lstm_gradient_reducer *reducer = nullptr;
};

/* What fit returns: the loss of every epoch that finished. */
struct History {
    std::vector<double> loss;
};

class Model;

namespace detail {

inline std::vector<lstm_tensor> tensors(const std::vector<Input> &inputs) {
    std::vector<lstm_tensor> out;
    out.reserve(inputs.size());
    for (const Input &in : inputs) {
        if (in.shape.empty() || in.shape.size() > LSTM_MAX_RANK)
            throw Error(LSTM_ERROR_ARGUMENT, "a tensor's shape needs 1 to " + std::to_string(LSTM_MAX_RANK) +
                                                 " dimensions, got " + std::to_string(in.shape.size()));
        lstm_tensor t{};
        t.data = in.data;
        t.rank = in.shape.size();
        for (size_t k = 0; k < t.rank; k++) t.shape[k] = in.shape[k];
        out.push_back(t);
    }
    return out;
}

/* What fit's C callbacks reach through `user`: the C++ callbacks, and the first exception
   one of them threw, kept to be rethrown once the library has returned. */
struct FitContext {
    const FitOptions *options;
    std::exception_ptr error;

    /* Runs a callback; an exception is caught here (it must not cross the C library) and asks
       the library to stop. */
    template <class F> int guarded(F &&f) noexcept {
        if (error) return 1;
        try {
            return f() ? 1 : 0;
        } catch (...) {
            error = std::current_exception();
            return 1;
        }
    }

    static int epoch(void *user, size_t epoch, double loss, double val_loss) {
        auto *c = static_cast<FitContext *>(user);
        if (!c->options->on_epoch) return c->error ? 1 : 0;
        return c->guarded([&] { return c->options->on_epoch(epoch, loss, val_loss); });
    }
    static int batch(void *user, size_t epoch, size_t batch, size_t batches, double loss) {
        auto *c = static_cast<FitContext *>(user);
        return c->guarded([&] { return c->options->on_batch(epoch, batch, batches, loss); });
    }
    static int epoch_logs(void *user, size_t epoch, size_t, size_t n, const char *const *names,
                          const double *values) {
        auto *c = static_cast<FitContext *>(user);
        return c->guarded([&] {
            Logs logs;
            logs.reserve(n);
            for (size_t k = 0; k < n; k++) logs.push_back({names[k], values[k]});
            return c->options->on_epoch_logs(epoch, logs);
        });
    }

    lstm_fit_options c_options() {
        lstm_fit_options o;
        lstm_fit_options_init(&o);
        o.epochs = options->epochs;
        o.batch_size = options->batch_size;
        o.shuffle = options->shuffle ? 1 : 0;
        o.validation_split = options->validation_split;
        o.seed = options->seed;
        o.steps_per_epoch = options->steps_per_epoch;
        o.user = this;
        o.on_epoch = &FitContext::epoch;
        if (options->on_batch) o.on_batch = &FitContext::batch;
        if (options->on_epoch_logs) o.on_epoch_logs = &FitContext::epoch_logs;
        o.reducer = options->reducer;
        if (!options->class_weight.empty()) {
            o.class_weight = options->class_weight.data();
            o.class_weight_count = options->class_weight.size();
        }
        return o;
    }

    /* After the C call: a callback's exception first, then the status. */
    void finish(lstm_status status) {
        if (error) std::rethrow_exception(error);
        check(status);
    }
};

}  // namespace detail

/* A model (lstm_model), owned. Const member functions are the thread-safe ones of lstm.h. */
class Model {
public:
    /* Takes ownership of a handle from the C API (NULL makes an empty Model). */
    explicit Model(lstm_model *owned = nullptr) noexcept : m_(owned) {}
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;
    Model(Model &&other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
    Model &operator=(Model &&other) noexcept {
        if (this != &other) {
            lstm_model_free(m_);
            m_ = std::exchange(other.m_, nullptr);
        }
        return *this;
    }
    ~Model() { lstm_model_free(m_); }

    /* lstm_model_load: .keras, or a full-model .h5. */
    static Model load(const std::string &path) {
        lstm_model *m = nullptr;
        detail::check(lstm_model_load(path.c_str(), &m));
        return Model(m);
    }
    /* lstm_model_load_outputs: the part of a file's graph that computes the named layers'
       outputs ("name", or "name:k" for output k). */
    static Model load_outputs(const std::string &path, const std::vector<std::string> &outputs) {
        std::vector<const char *> names;
        for (const std::string &o : outputs) names.push_back(o.c_str());
        lstm_model *m = nullptr;
        detail::check(lstm_model_load_outputs(path.c_str(), names.data(), names.size(), &m));
        return Model(m);
    }
    /* lstm_model_from_json: a Keras model config, weights initialised from `seed`. */
    static Model from_json(const std::string &keras_json, uint64_t seed = 0) {
        lstm_model *m = nullptr;
        detail::check(lstm_model_from_json(keras_json.c_str(), seed, &m));
        return Model(m);
    }

    /* The C handle, still owned here (for the lstm_ functions this header does not wrap). */
    lstm_model *get() const noexcept { return m_; }
    /* Gives the handle up: the caller frees it with lstm_model_free. */
    lstm_model *release() noexcept { return std::exchange(m_, nullptr); }
    explicit operator bool() const noexcept { return m_ != nullptr; }

    void save(const std::string &path) const { detail::check(lstm_model_save(m_, path.c_str())); }
    /* The inference graph as an ONNX file (lstm_model_export_onnx). */
    void export_onnx(const std::string &path) const { detail::check(lstm_model_export_onnx(m_, path.c_str())); }
    void save_weights(const std::string &path) const { detail::check(lstm_model_save_weights(m_, path.c_str())); }
    void load_weights(const std::string &path) { detail::check(lstm_model_load_weights(m_, path.c_str())); }

    std::string to_json() const {
        size_t len = 0;
        detail::check(lstm_model_to_json(m_, nullptr, 0, &len));
        std::string text(len + 1, '\0');
        detail::check(lstm_model_to_json(m_, &text[0], text.size(), &len));
        text.resize(len);
        return text;
    }

    void compile(const std::string &compile_json) { detail::check(lstm_model_compile(m_, compile_json.c_str())); }

    size_t param_count() const {
        size_t n = 0;
        detail::check(lstm_model_param_count(m_, &n));
        return n;
    }
    std::vector<float> get_weights() const {
        std::vector<float> w(param_count());
        detail::check(lstm_model_get_weights(m_, w.data(), w.size()));
        return w;
    }
    void set_weights(const std::vector<float> &w) { detail::check(lstm_model_set_weights(m_, w.data(), w.size())); }

    size_t input_count() const {
        size_t n = 0;
        detail::check(lstm_model_input_count(m_, &n));
        return n;
    }
    size_t output_count() const {
        size_t n = 0;
        detail::check(lstm_model_output_count(m_, &n));
        return n;
    }
    /* Features per timestep of the (first) input. */
    size_t features() const {
        size_t timesteps = 0, n = 0;
        detail::check(lstm_model_input_shape(m_, &timesteps, &n));
        return n;
    }
    /* Floats per sample of the target the compiled loss reads (lstm_model_target_size). */
    size_t target_size(size_t timesteps = 0) const {
        size_t n = 0;
        detail::check(lstm_model_target_size(m_, timesteps, &n));
        return n;
    }
    /* Floats per sample of the output for `timesteps` steps (0: the model's fixed length). */
    size_t output_size(size_t timesteps = 0) const {
        size_t n = 0;
        detail::check(lstm_model_output_size(m_, timesteps, &n));
        return n;
    }

    /* lstm_model_predict into the caller's buffer (y_len floats). */
    void predict(const float *x, size_t batch, size_t timesteps, float *y, size_t y_len) const {
        detail::check(lstm_model_predict(m_, x, batch, timesteps, y, y_len));
    }
    /* lstm_model_predict: x must hold batch * timesteps * features floats (checked). */
    std::vector<float> predict(const std::vector<float> &x, size_t batch, size_t timesteps) const {
        check_length("x", x.size(), batch * timesteps * features());
        std::vector<float> y(batch * output_size(timesteps));
        predict(x.data(), batch, timesteps, y.data(), y.size());
        return y;
    }

    /* lstm_model_run: one tensor per input, one Output per output, in Keras's order. */
    std::vector<Output> run(const std::vector<Input> &inputs) const {
        std::vector<lstm_tensor> x = detail::tensors(inputs);
        std::vector<lstm_tensor_out> y(output_count(), lstm_tensor_out{});
        detail::check(lstm_model_output_shapes(m_, x.data(), x.size(), y.data(), y.size()));
        std::vector<Output> out(y.size());
        for (size_t k = 0; k < y.size(); k++) {
            size_t count = 1;
            for (size_t d = 0; d < y[k].rank; d++) count *= y[k].shape[d];
            out[k].values.resize(count);
            y[k].data = out[k].values.data();
            y[k].cap = count;
        }
        detail::check(lstm_model_run(m_, x.data(), x.size(), y.data(), y.size()));
        for (size_t k = 0; k < y.size(); k++) out[k].shape.assign(y[k].shape, y[k].shape + y[k].rank);
        return out;
    }

    /* lstm_model_fit on n sequences; returns the losses of the epochs that finished. */
    History fit(const float *x, const float *y, size_t n, size_t timesteps, const FitOptions &options = {}) {
        return run_fit(options, [&](const lstm_fit_options *o, double *history, size_t cap, size_t *run) {
            return lstm_model_fit(m_, x, y, n, timesteps, o, history, cap, run);
        });
    }
    History fit(const std::vector<float> &x, const std::vector<float> &y, size_t n, size_t timesteps,
                const FitOptions &options = {}) {
        check_length("x", x.size(), n * timesteps * features());
        check_length("y", y.size(), n * target_size(timesteps));
        return fit(x.data(), y.data(), n, timesteps, options);
    }
    /* lstm_model_fit_tensors: several inputs and targets. */
    History fit(const std::vector<Input> &x, const std::vector<Input> &y, const FitOptions &options = {}) {
        std::vector<lstm_tensor> xt = detail::tensors(x), yt = detail::tensors(y);
        return run_fit(options, [&](const lstm_fit_options *o, double *history, size_t cap, size_t *run) {
            return lstm_model_fit_tensors(m_, xt.data(), xt.size(), yt.data(), yt.size(), o, history, cap, run);
        });
    }

    /* lstm_model_release_training_memory: frees what fit keeps for the next fit. */
    void release_training_memory() { detail::check(lstm_model_release_training_memory(m_)); }

    /* lstm_model_evaluate: the compiled loss over n samples. */
    double evaluate(const float *x, const float *y, size_t n, size_t timesteps) const {
        double loss = NAN;
        detail::check(lstm_model_evaluate(m_, x, y, n, timesteps, &loss));
        return loss;
    }
    double evaluate(const std::vector<float> &x, const std::vector<float> &y, size_t n, size_t timesteps) const {
        check_length("x", x.size(), n * timesteps * features());
        check_length("y", y.size(), n * target_size(timesteps));
        return evaluate(x.data(), y.data(), n, timesteps);
    }
    /* lstm_model_evaluate_metrics: the loss, then each compiled metric, by their log names. */
    Logs evaluate(const std::vector<Input> &x, const std::vector<Input> &y, size_t batch_size = 0) const {
        std::vector<lstm_tensor> xt = detail::tensors(x), yt = detail::tensors(y);
        size_t count = 0;
        detail::check(lstm_model_metric_count(m_, &count));
        double loss = NAN;
        std::vector<double> metrics(count);
        detail::check(lstm_model_evaluate_metrics(m_, xt.data(), xt.size(), yt.data(), yt.size(), nullptr,
                                                  batch_size, &loss, metrics.data(), metrics.size(), nullptr,
                                                  nullptr));
        Logs logs{{"loss", loss}};
        char name[256];
        for (size_t k = 0; k < count; k++) {
            detail::check(lstm_model_metric_name(m_, k, name, sizeof name));
            logs.push_back({name, metrics[k]});
        }
        return logs;
    }

private:
    /* One C fit call (`call(opts, history, cap, epochs_run)`) with the options' callbacks behind
       trampolines: the losses of the epochs that finished, or the callback's exception. */
    template <class Call> static History run_fit(const FitOptions &options, Call call) {
        detail::FitContext context{&options, nullptr};
        lstm_fit_options o = context.c_options();
        History h;
        h.loss.resize(options.epochs);
        size_t run = 0;
        lstm_status s = call(&o, h.loss.data(), h.loss.size(), &run);
        h.loss.resize(run < h.loss.size() ? run : h.loss.size());
        context.finish(s);
        return h;
    }

    static void check_length(const char *what, size_t got, size_t want) {
        if (got != want)
            throw Error(LSTM_ERROR_SHAPE, std::string(what) + " holds " + std::to_string(got) + " floats, expected " +
                                              std::to_string(want));
    }

    lstm_model *m_;
};

/* A stream's state (lstm_state) for one-timestep-at-a-time runs of a model, owned. The model
   must stay alive while the state steps it (a state outliving its model gets
   LSTM_ERROR_ARGUMENT, never a crash). */
class State {
public:
    /* lstm_state_new: a zero state for streaming `model`. */
    explicit State(const Model &model) : model_(model.get()) {
        detail::check(lstm_step_sizes(model_, &in_, &out_));
        detail::check(lstm_state_new(model_, &s_));
    }
    State(const State &) = delete;
    State &operator=(const State &) = delete;
    State(State &&other) noexcept
        : model_(other.model_), s_(std::exchange(other.s_, nullptr)), in_(other.in_), out_(other.out_) {}
    State &operator=(State &&other) noexcept {
        if (this != &other) {
            lstm_state_free(s_);
            model_ = other.model_;
            s_ = std::exchange(other.s_, nullptr);
            in_ = other.in_;
            out_ = other.out_;
        }
        return *this;
    }
    ~State() { lstm_state_free(s_); }

    lstm_state *get() const noexcept { return s_; }
    size_t input_size() const noexcept { return in_; }
    size_t output_size() const noexcept { return out_; }

    void reset() { detail::check(lstm_state_reset(s_)); }
    /* lstm_step: x_t holds input_size() floats, y gets output_size(). */
    void step(const float *x_t, float *y, size_t y_len) { detail::check(lstm_step(model_, s_, x_t, y, y_len)); }
    std::vector<float> step(const std::vector<float> &x_t) {
        if (x_t.size() != in_)
            throw Error(LSTM_ERROR_SHAPE, "a step takes " + std::to_string(in_) + " floats, got " +
                                              std::to_string(x_t.size()));
        std::vector<float> y(out_);
        step(x_t.data(), y.data(), y.size());
        return y;
    }

private:
    const lstm_model *model_;
    lstm_state *s_ = nullptr;
    size_t in_ = 0, out_ = 0;
};

}  // namespace lstm

#endif /* LSTM_HPP */
