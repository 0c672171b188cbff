/* The HDF5 C API for Swift. HDF5's type and property-list constants are macros over globals
   that Swift cannot import; these inline functions hand them over. */
#ifndef LSTM_CHDF5_SHIM_H
#define LSTM_CHDF5_SHIM_H
#include <hdf5.h>

static inline hid_t lstm_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t lstm_h5s_all(void) { return H5S_ALL; }
static inline hid_t lstm_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t lstm_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t lstm_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t lstm_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t lstm_h5t_c_s1(void) { return H5T_C_S1; }
static inline size_t lstm_h5t_variable(void) { return H5T_VARIABLE; }
static inline unsigned lstm_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned lstm_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline hid_t lstm_h5p_file_access(void) { return H5P_FILE_ACCESS; }
/* Turns off HDF5's printing of error stacks: errors come back as LSTMError instead. */
static inline void lstm_h5_silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
#endif
