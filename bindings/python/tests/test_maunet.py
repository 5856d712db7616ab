"""The Python module against the C++ library's own output, and its other functions.

Usage: test_maunet.py TEST_DATA_DIR N NY NX  (the files of make_test_model)
"""
import os
import sys
import tempfile
import threading
import unittest

import numpy as np

import maunet

DATA, N, NY, NX = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])


def raw(name, shape):
    return np.fromfile(os.path.join(DATA, name), dtype=np.float32).reshape(shape)


class ModelTest(unittest.TestCase):
    def setUp(self):
        self.model = maunet.load(os.path.join(DATA, "model.ckpt"))
        self.f = self.model.factor
        self.input = raw("input.f32", (N, NY, NX))
        self.expected = raw("expected.f32", (N, NY * self.f, NX * self.f))

    def test_properties(self):
        m = self.model
        self.assertEqual((m.task, m.factor, m.grid_multiple, m.in_channels, m.out_channels),
                         ("downscaling", 4, 4, 1, 1))
        self.assertEqual(m.architecture, "maunet-light")
        self.assertGreater(m.num_parameters, 0)
        self.assertEqual(m.history, [])
        self.assertIn("maunet-light", repr(m))

    def test_predict_matches_cpp(self):
        y = self.model.predict(self.input)
        self.assertEqual(y.dtype, np.float32)
        self.assertEqual(y.shape, self.expected.shape)
        np.testing.assert_allclose(y, self.expected, rtol=1e-5, atol=1e-5)  # NaN where NaN
        self.assertTrue(np.isnan(y).any())
        # One field [y, x]; float64 and non-contiguous inputs are converted.
        one = self.model.predict(self.input[1].astype(np.float64))
        np.testing.assert_allclose(one, self.expected[1], rtol=1e-5, atol=1e-5)
        strided = np.asfortranarray(self.input)
        np.testing.assert_allclose(self.model.predict(strided), self.expected, rtol=1e-5, atol=1e-5)
        self.assertTrue(y.flags.owndata or y.base is not None)

    def test_units(self):
        self.assertEqual(self.model.units, "mm day-1")  # recorded by make_test_model

    def test_workspace(self):
        ws = self.model.workspace(self.input.shape)
        before = ws.bytes
        self.assertGreater(before, 0)
        out = np.full(self.expected.shape, -1.0, np.float32)
        for _ in range(3):
            r = self.model.predict(self.input, out=out, workspace=ws)
            self.assertTrue(np.shares_memory(r, out))
            np.testing.assert_allclose(out, self.expected, rtol=1e-5, atol=1e-5)
        self.assertEqual(ws.bytes, before)  # sized by Model.workspace: nothing grew
        # Without out, a new array; one field [y, x] grows the workspace once.
        np.testing.assert_allclose(self.model.predict(self.input, workspace=ws), self.expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(self.model.predict(self.input[1], workspace=ws), self.expected[1],
                                   rtol=1e-5, atol=1e-5)
        with self.assertRaises(maunet.ShapeError) as e:
            self.model.predict(self.input, out=out[:1], workspace=ws)
        self.assertIn("out has the wrong shape", str(e.exception))
        with self.assertRaises(maunet.ArgumentError) as e:
            self.model.predict(self.input, out=out.astype(np.float64))
        self.assertIn("out must be a float32 C-contiguous numpy array", str(e.exception))
        with self.assertRaises(maunet.ShapeError):
            self.model.workspace((2, 3, 4, 5))
        # One workspace per thread: each thread its own.
        results = [None] * 3

        def run(i):
            own = self.model.workspace(self.input.shape)
            results[i] = [self.model.predict(self.input, workspace=own) for _ in range(2)]

        threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            for y in r:
                np.testing.assert_allclose(y, self.expected, rtol=1e-5, atol=1e-5)

    def test_concurrent_predict(self):
        results = [None] * 4

        def run(i):
            results[i] = self.model.predict(self.input)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            np.testing.assert_allclose(r, self.expected, rtol=1e-5, atol=1e-5)

    def test_errors(self):
        with self.assertRaises(maunet.IOError) as e:
            maunet.load("no/such/model.ckpt")
        self.assertIn("no/such/model.ckpt", str(e.exception))
        self.assertTrue(issubclass(maunet.IOError, OSError))
        with self.assertRaises(maunet.FormatError):
            maunet.load(os.path.join(DATA, "input.f32"))
        with self.assertRaises(maunet.ShapeError) as e:
            self.model.predict(np.zeros((2, 3, 4, 5), np.float32))
        self.assertIn("expected fields [y, x] or [time, y, x]", str(e.exception))
        with self.assertRaises(ValueError):
            maunet.set_num_threads(0)


class TrainTest(unittest.TestCase):
    def test_train_distill_save_load(self):
        with tempfile.TemporaryDirectory() as tmp:
            obs = np.random.default_rng(1).gamma(0.5, 4.0, (6, 16, 16)).astype(np.float32)
            teacher = maunet.train(obs, factor=4, model="maunet", width=4, levels=2, epochs=2, batch=2,
                                   val_fraction=0.34, out=os.path.join(tmp, "t.ckpt"), threads=1)
            self.assertEqual(len(teacher.history), 2)
            self.assertEqual((teacher.task, teacher.factor, teacher.architecture), ("downscaling", 4, "maunet"))
            loaded = maunet.load(os.path.join(tmp, "t.ckpt"))  # checks the embedded self-test
            self.assertEqual((teacher.units, loaded.units), ("mm day-1", "mm day-1"))
            coarse = obs[:2, ::4, ::4].copy()
            np.testing.assert_array_equal(loaded.predict(coarse), teacher.predict(coarse))
            student = maunet.distill(teacher, obs, epochs=1, refine_epochs=1, batch=2, val_fraction=0.34,
                                     out=os.path.join(tmp, "s.ckpt"))
            self.assertEqual(student.architecture, "maunet-light")
            self.assertEqual(student.units, "mm day-1")  # the teacher's
            hourly = maunet.train(obs, factor=4, model="unet", width=4, levels=1, epochs=1, units="mm/h",
                                  val_fraction=0.34, out=os.path.join(tmp, "h.ckpt"))
            self.assertEqual((hourly.units, maunet.load(os.path.join(tmp, "h.ckpt")).units), ("mm/h", "mm/h"))
            with self.assertRaises(ValueError) as e:
                maunet.train(obs, factor=4, epochs=1, units="mm")
            self.assertIn("units 'mm' are an amount per time step", str(e.exception))
            with self.assertRaises(ValueError) as e:
                maunet.train(obs, factor=4, epochs=1, units="K")
            self.assertIn("not a unit maunet knows", str(e.exception))
            self.assertEqual(len(student.history), 2)  # 1 distillation + 1 refinement epoch
            self.assertEqual(maunet.load(os.path.join(tmp, "s.ckpt")).predict(coarse).shape, (2, 16, 16))
            synthetic = maunet.train(task="bias_correction", model="unet", width=4, levels=1, epochs=1,
                                     synthetic_size=16, synthetic_fields=4, val_fraction=0.25)
            self.assertEqual((synthetic.task, synthetic.factor), ("bias_correction", 1))
            with self.assertRaises(ValueError) as e:
                maunet.train(obs, model="resnet")
            self.assertIn("model 'resnet' is not one of", str(e.exception))

    def test_train_recipe_options(self):
        # The real-data recipe's keywords: patches per field, symmetries and the linear scale.
        with tempfile.TemporaryDirectory() as tmp:
            obs = np.random.default_rng(2).gamma(0.5, 4.0, (6, 16, 16)).astype(np.float32)
            common = dict(factor=4, model="maunet", width=4, levels=1, epochs=2, batch=2, patch=8,
                          patches_per_field=2, val_fraction=0.34, threads=1)
            plain = maunet.train(obs, **common)
            self.assertEqual(plain.transform, "log1p")
            turned = maunet.train(obs, augment=True, **common)
            again = maunet.train(obs, augment=True, **common)
            self.assertEqual([e["train_loss"] for e in turned.history], [e["train_loss"] for e in again.history])
            self.assertNotEqual([e["train_loss"] for e in turned.history], [e["train_loss"] for e in plain.history])
            linear = maunet.train(obs, augment=True, transform="linear", out=os.path.join(tmp, "l.ckpt"), **common)
            self.assertEqual((linear.transform, maunet.load(os.path.join(tmp, "l.ckpt")).transform),
                             ("linear", "linear"))
            coarse = obs[:2, ::4, ::4].copy()
            self.assertTrue((np.nan_to_num(linear.predict(coarse)) >= 0).all())
            with self.assertRaises(ValueError) as e:
                maunet.train(obs, transform="sqrt", **common)
            self.assertIn("'sqrt' is not one of log1p, linear", str(e.exception))


class BiasCorrectionTest(unittest.TestCase):
    def test_fit_save_load_apply(self):
        rng = np.random.default_rng(2)
        obs = np.where(rng.random((730, 3, 4)) < 0.5, 0, rng.gamma(0.8, 5, (730, 3, 4))).astype(np.float32)
        sim = (1.5 * obs[::-1]).copy()
        doy = [t % 365 + 1 for t in range(730)]
        shifted = obs + 2
        ls = maunet.fit_bias_correction(obs, shifted, method="linear", kind="additive")
        np.testing.assert_allclose(ls.apply(shifted), obs, atol=1e-4)
        qdm = maunet.fit_bias_correction(obs, sim, method="qdm", window=15, quantiles=20, seed=7,
                                         obs_doy=doy, sim_doy=doy)
        self.assertEqual(qdm.options["method"], "qdm")
        self.assertEqual(qdm.options["grid"], (3, 4))
        y = qdm.apply(sim, doy=doy)
        self.assertLess(abs(y.mean() - obs.mean()), 0.1 * abs(sim.mean() - obs.mean()))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "qdm.bc")
            qdm.save(path)
            again = maunet.load_bias_correction(path)
            np.testing.assert_array_equal(again.apply(sim, doy=doy), y)
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) - 3)
            with self.assertRaises(maunet.FormatError):
                maunet.load_bias_correction(path)
        with self.assertRaises(ValueError) as e:
            qdm.apply(sim)
        self.assertIn("day-of-year windows", str(e.exception))
        with self.assertRaises(ValueError):
            maunet.fit_bias_correction(obs, sim, method="cdf")


class RegridMetricsTest(unittest.TestCase):
    def test_regrid(self):
        x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
        self.assertEqual(maunet.regrid(x, 2, "nearest").shape, (2, 6, 8))
        np.testing.assert_array_equal(maunet.regrid(x, 2, "nearest")[:, ::2, ::2], x)
        np.testing.assert_allclose(maunet.regrid(maunet.regrid(x, 2, "nearest"), 2, "block_mean"), x)
        with self.assertRaises(ValueError):
            maunet.regrid(x, 2, "spline")

    def test_metrics(self):
        obs = np.random.default_rng(3).gamma(0.8, 5, (4, 16, 16)).astype(np.float32)
        perfect = maunet.metrics(obs, obs)
        self.assertEqual(perfect["rmse"], 0.0)
        self.assertAlmostEqual(perfect["ssim"], 1.0, places=5)
        biased = maunet.metrics(obs + 1, obs, ssim=False)
        self.assertAlmostEqual(biased["bias"], 1.0, places=5)
        self.assertAlmostEqual(biased["rmse"], 1.0, places=5)
        self.assertEqual(biased["n_valid"], obs.size)


if __name__ == "__main__":
    print("maunet", maunet.__version__, "with numpy", np.__version__)
    unittest.main(argv=sys.argv[:1])
