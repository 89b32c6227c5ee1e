using Microsoft.ML.Mask2Former.Training.Data;
using Microsoft.ML.Mask2Former.Training.Modeling;
using Microsoft.ML.Mask2Former.Training.Optimization;

namespace Microsoft.ML.Mask2Former.Training;

/// <summary>
/// Settings of <see cref="Mask2FormerTrainer"/>. Defaults are the Mask2Former COCO panoptic recipe
/// (<c>configs/coco/panoptic-segmentation/Base-COCO-PanopticSegmentation.yaml</c> and
/// <c>maskformer2_R50_bs16_50ep.yaml</c> of facebookresearch/Mask2Former, detectron2 defaults
/// otherwise); where a default differs for practical reasons the remark says so.
/// </summary>
public sealed class Mask2FormerTrainerOptions
{
    /// <summary>
    /// The network configuration; its labels are replaced by the data set's categories unless
    /// <see cref="KeepConfigLabels"/>. Default <see langword="null"/>: the preset named by <see cref="ConfigName"/>.
    /// </summary>
    public Mask2FormerConfig? Config { get; set; }

    /// <summary>A <see cref="Presets"/> name used when <see cref="Config"/> is null. Default "small" (the small reference model; COCO uses "swin-tiny" … "swin-large" or "resnet-50").</summary>
    public string ConfigName { get; set; } = "small";

    /// <summary>Whether to keep the labels of <see cref="Config"/> (data set categories are then matched to them by name). Default false.</summary>
    public bool KeepConfigLabels { get; set; }

    /// <summary>
    /// A safetensors file (Hugging Face names) or an mmdetection <c>.pth</c> checkpoint (through
    /// <see cref="Checkpoints.MmdetModelFolder"/>'s name map) to start from, e.g. a pretrained model, or a model folder
    /// (an mmdetection folder's <c>checkpoint.pth</c>, otherwise its <c>model.safetensors</c>). Tensors whose
    /// name or shape does not fit (a class head of another size) are left at their initial values.
    /// Default none (random initialisation; Mask2Former starts from an ImageNet backbone, <c>MODEL.WEIGHTS</c>).
    /// </summary>
    public string? InitialWeights { get; set; }

    /// <summary>The number of optimizer steps. Default 368,750 (<c>SOLVER.MAX_ITER</c>, 50 COCO epochs at batch 16).</summary>
    public long MaxSteps { get; set; } = 368_750;

    /// <summary>Images per step. Default 16 (<c>SOLVER.IMS_PER_BATCH</c>).</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>The training image size (crop size of large-scale jitter). Default 1024 (<c>INPUT.IMAGE_SIZE</c>).</summary>
    public int ImageSize { get; set; } = 1024;

    /// <summary>How images are resized. Default large-scale jitter (<c>INPUT.DATASET_MAPPER_NAME: coco_panoptic_lsj</c>).</summary>
    public ImageResizeMode ResizeMode { get; set; } = ImageResizeMode.LargeScaleJitter;

    /// <summary>The smallest jitter scale. Default 0.1 (<c>INPUT.MIN_SCALE</c>).</summary>
    public double MinScale { get; set; } = 0.1;

    /// <summary>The largest jitter scale. Default 2.0 (<c>INPUT.MAX_SCALE</c>).</summary>
    public double MaxScale { get; set; } = 2.0;

    /// <summary>The probability of a horizontal flip. Default 0.5 (<c>INPUT.RANDOM_FLIP: horizontal</c>).</summary>
    public double FlipProbability { get; set; } = 0.5;

    /// <summary>Per-channel RGB mean subtracted from 0–255 pixels. Default 123.675, 116.28, 103.53 (<c>MODEL.PIXEL_MEAN</c>, ImageNet).</summary>
    public IReadOnlyList<double> PixelMean { get; set; } = [123.675, 116.28, 103.53];

    /// <summary>Per-channel RGB standard deviation dividing 0–255 pixels. Default 58.395, 57.12, 57.375 (<c>MODEL.PIXEL_STD</c>).</summary>
    public IReadOnlyList<double> PixelStd { get; set; } = [58.395, 57.12, 57.375];

    /// <summary>The base learning rate. Default 1e-4 (<c>SOLVER.BASE_LR</c>).</summary>
    public double LearningRate { get; set; } = 1e-4;

    /// <summary>AdamW weight decay. Default 0.05 (<c>SOLVER.WEIGHT_DECAY</c>); 0 on norms and embeddings (<c>WEIGHT_DECAY_NORM</c>, <c>WEIGHT_DECAY_EMBED</c>).</summary>
    public double WeightDecay { get; set; } = 0.05;

    /// <summary>The backbone's learning-rate multiplier. Default 0.1 (<c>SOLVER.BACKBONE_MULTIPLIER</c>). Not used with <see cref="LayerDecayRate"/>.</summary>
    public double BackboneMultiplier { get; set; } = 0.1;

    /// <summary>
    /// Layer-wise learning-rate decay for a ViT-Adapter backbone, as the seed's recipe
    /// (ViT-Adapter's <c>LayerDecayOptimizerConstructor</c>, <c>layer_decay_rate</c> 0.9 over the 24
    /// blocks of ViT-Adapter-L): with L = depth + 2, the patch embedding and position embedding take
    /// layer 0, block i layer i + 1, everything else (adapter, pixel decoder, transformer decoder)
    /// layer L − 1; a parameter of layer l learns at <see cref="LearningRate"/> × rate^(L − l − 1).
    /// Weight decay then follows that constructor too: none on one-dimensional parameters and
    /// biases, <see cref="WeightDecay"/> on the rest (embeddings and relative-position tables
    /// included). Default <see langword="null"/>: off (Mask2Former's own groups with
    /// <see cref="BackboneMultiplier"/>).
    /// </summary>
    public double? LayerDecayRate { get; set; }

    /// <summary>AdamW β1. Default 0.9 (PyTorch <c>AdamW</c>).</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>AdamW β2. Default 0.999 (PyTorch <c>AdamW</c>).</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>AdamW ε. Default 1e-8 (PyTorch <c>AdamW</c>).</summary>
    public double Epsilon { get; set; } = 1e-8;

    /// <summary>The learning-rate schedule. Default multi-step (<c>SOLVER.LR_SCHEDULER_NAME: WarmupMultiStepLR</c>).</summary>
    public LearningRateScheduleKind Schedule { get; set; } = LearningRateScheduleKind.MultiStep;

    /// <summary>Multi-step milestones as fractions of <see cref="MaxSteps"/>. Default 0.889, 0.963 (<c>SOLVER.STEPS</c> 327,778 and 355,092 of 368,750).</summary>
    public IReadOnlyList<double> Milestones { get; set; } = [0.889, 0.963];

    /// <summary>The multi-step decay factor. Default 0.1 (<c>SOLVER.GAMMA</c>).</summary>
    public double Gamma { get; set; } = 0.1;

    /// <summary>The poly exponent. Default 0.9 (<c>SOLVER.POLY_LR_POWER</c>).</summary>
    public double PolyPower { get; set; } = 0.9;

    /// <summary>Linear warm-up steps. Default 10 (<c>SOLVER.WARMUP_ITERS</c>).</summary>
    public long WarmupSteps { get; set; } = 10;

    /// <summary>The warm-up's starting factor. Default 1.0 (<c>SOLVER.WARMUP_FACTOR</c>: no warm-up in effect).</summary>
    public double WarmupFactor { get; set; } = 1.0;

    /// <summary>The largest L2 norm of the whole model's gradient, 0 for no clipping. Default 0.01 (<c>SOLVER.CLIP_GRADIENTS</c>: full_model, 0.01, norm 2).</summary>
    public double GradientClipNorm { get; set; } = 0.01;

    /// <summary>
    /// Points per mask for the matcher and the mask losses; <see langword="null"/> takes the
    /// configuration's <c>train_num_points</c>. Default null (12,544, <c>TRAIN_NUM_POINTS</c>).
    /// </summary>
    public int? NumPoints { get; set; }

    /// <summary>The seed of the weights, the data order, the augmentation and the point sampling. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>Threads decoding and augmenting images. Default min(4, processors) (<c>DATALOADER.NUM_WORKERS</c> is 4).</summary>
    public int LoaderThreads { get; set; } = Math.Min(4, Environment.ProcessorCount);

    /// <summary>Where checkpoints, the final model and the log go; null to keep nothing on disk. Default null.</summary>
    public string? OutputFolder { get; set; }

    /// <summary>Whether to continue from the last checkpoint in <see cref="OutputFolder"/> (a fresh start if there is none). Default false.</summary>
    public bool Resume { get; set; }

    /// <summary>Steps between checkpoints (the last step always writes one). Default 5,000 (<c>SOLVER.CHECKPOINT_PERIOD</c>).</summary>
    public long CheckpointInterval { get; set; } = 5000;

    /// <summary>How many checkpoints to keep. Default 2.</summary>
    public int KeepCheckpoints { get; set; } = 2;

    /// <summary>A COCO panoptic folder (images/, panoptic.json, panoptic/) for validation PQ; null for none. Default null.</summary>
    public string? ValidationFolder { get; set; }

    /// <summary>Steps between validations (and after the last step), 0 for none. Default 5,000 (<c>TEST.EVAL_PERIOD</c>).</summary>
    public long ValidationInterval { get; set; } = 5000;

    /// <summary>The most validation images evaluated each time (the first ones). Default all (<c>int.MaxValue</c>).</summary>
    public int MaxValidationImages { get; set; } = int.MaxValue;

    /// <summary>
    /// Validation post-processing: the minimum query score kept (<c>object_mask_threshold</c>).
    /// Default 0.8 (the original Mask2Former's); a briefly trained model is rarely that confident.
    /// </summary>
    public double ValidationObjectMaskThreshold { get; set; } = 0.8;

    /// <summary>
    /// The validation input: each image letterboxed into this size × size (aspect kept, padded at
    /// the bottom/right), as the scoring pipeline feeds a model exported at that fixed size. Default
    /// null: <see cref="ImageSize"/>.
    /// </summary>
    public int? ValidationImageSize { get; set; }

    /// <summary>Steps between progress reports and log lines. Default 20 (detectron2's <c>PeriodicWriter</c>).</summary>
    public int ReportInterval { get; set; } = 20;

    /// <summary>Receives each warning (an image skipped, with the reason and file) as it happens, on the training thread. Default null (warnings still go to the log and the result).</summary>
    public Action<string>? Warning { get; set; }

    internal void Validate()
    {
        void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }
        Check(MaxSteps >= 1, $"{nameof(MaxSteps)} must be at least 1, got {MaxSteps}");
        Check(BatchSize >= 1, $"{nameof(BatchSize)} must be at least 1, got {BatchSize}");
        Check(ImageSize is >= 32 and <= 16384, $"{nameof(ImageSize)} must be in 32..16384, got {ImageSize}");
        Check(MinScale > 0 && MaxScale >= MinScale && double.IsFinite(MaxScale), $"the jitter scales must satisfy 0 < {nameof(MinScale)} ≤ {nameof(MaxScale)}, got {MinScale} and {MaxScale}");
        Check(FlipProbability is >= 0 and <= 1, $"{nameof(FlipProbability)} must be in [0, 1], got {FlipProbability}");
        Check(PixelMean is { Count: 3 } && PixelStd is { Count: 3 } && PixelStd.All(s => s > 0), "PixelMean and PixelStd need 3 values each, the deviations positive");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), $"{nameof(LearningRate)} must be positive, got {LearningRate}");
        Check(WeightDecay >= 0 && double.IsFinite(WeightDecay), $"{nameof(WeightDecay)} must be non-negative, got {WeightDecay}");
        Check(BackboneMultiplier >= 0 && double.IsFinite(BackboneMultiplier), $"{nameof(BackboneMultiplier)} must be non-negative, got {BackboneMultiplier}");
        Check(LayerDecayRate is null or (> 0 and <= 1), $"{nameof(LayerDecayRate)} must lie in (0, 1], got {LayerDecayRate}");
        Check(GradientClipNorm >= 0 && double.IsFinite(GradientClipNorm), $"{nameof(GradientClipNorm)} must be non-negative, got {GradientClipNorm}");
        Check(NumPoints is null or >= 1, $"{nameof(NumPoints)} must be positive, got {NumPoints}");
        Check(CheckpointInterval >= 1, $"{nameof(CheckpointInterval)} must be at least 1, got {CheckpointInterval}");
        Check(KeepCheckpoints >= 1, $"{nameof(KeepCheckpoints)} must be at least 1, got {KeepCheckpoints}");
        Check(ValidationObjectMaskThreshold is >= 0 and <= 1, $"{nameof(ValidationObjectMaskThreshold)} must be in [0, 1], got {ValidationObjectMaskThreshold}");
        Check(ValidationInterval >= 0, $"{nameof(ValidationInterval)} must be non-negative, got {ValidationInterval}");
        Check(ReportInterval >= 1, $"{nameof(ReportInterval)} must be at least 1, got {ReportInterval}");
        Check(!Resume || OutputFolder is not null, $"{nameof(Resume)} needs an {nameof(OutputFolder)}");
        _ = new LearningRateSchedule(Schedule, MaxSteps, Milestones, Gamma, PolyPower, WarmupSteps, WarmupFactor);
    }
}
