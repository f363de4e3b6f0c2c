"""Clinical vocabulary written for this project: words that look like names or places in notes but are not PHI.

Three lists, all lower-case: `EPONYMS` (devices, signs, scores and diseases named after people), `DRUGS`
(generic and brand names common in acute care) and `CLINICAL` (nursing and medical abbreviations, jargon and
frequent misspellings-free shorthand). The detector never redacts an eponym on its own; the over-redaction
benchmark in the tests measures exactly that list.
"""

from __future__ import annotations

EPONYMS = frozenset(
    """
addison addisonian alzheimer alzheimers apgar babinski barrett barretts bell bells blakemore bovie brudzinski
buerger chadwick charcot cheyne chvostek cordis corpak crohn crohns cushing cushings dandy dobhoff doppler
epley foley fowler fowlers gram graves groshong guillain barre hartmann hasselbach hickman hodgkin hodgkins
holter homan homans horner huntington huntingtons jackson pratt kaposi kawasaki kernig kerley korotkoff
kussmaul levin lyme mallory weiss mcburney meniere murphy murphys nissen parkinson parkinsons portex
pleurovac quinton raynaud raynauds reiter romberg roux salem sengstaken shiley sjogren stokes swan ganz
tenckhoff trendelenburg trousseau valsalva virchow von willebrand wilson wernicke korsakoff whipple wolff parkinson
white glasgow ranson apache braden morse norton allen tinel phalen gleason bishop child pugh glasgow wells
duke kocher pfannenstiel seldinger yankauer ambu argyle salem heimlich jamshidi steri pleur evac penrose
hemovac blake davol mickey medi port mediport broviac trialysis vas cath passy muir bivona jackson rees venti
bair hugger kangaroo dubhoff keofeed ensure jevity osmolite nepro pulmocare promote impact boost
peptamen glucerna replete vivonex criticare tubefeeds tfs cardinal hallpike spurling lachman mcmurray
cheyne-stokes swan-ganz guillain-barre mallory-weiss wolff-parkinson-white jackson-pratt sengstaken-blakemore
""".split()
)

DRUGS = frozenset(
    """
acetaminophen tylenol ibuprofen motrin advil toradol ketorolac aspirin asa ecasa morphine mso4 dilaudid
hydromorphone fentanyl duragesic oxycodone percocet oxycontin vicodin codeine tramadol
ultram demerol meperidine methadone naloxone narcan flumazenil romazicon lorazepam ativan midazolam versed
diazepam valium haloperidol haldol olanzapine zyprexa quetiapine seroquel risperidone risperdal propofol
diprivan precedex dexmedetomidine etomidate ketamine succinylcholine vecuronium rocuronium cisatracurium
nimbex doxacurium pancuronium atracurium heparin hep lovenox enoxaparin coumadin warfarin plavix clopidogrel
integrilin eptifibatide reopro abciximab aggrastat tirofiban argatroban bivalirudin angiomax tpa alteplase
retavase tnk streptokinase lasix furosemide bumex bumetanide torsemide demadex diuril chlorothiazide hctz
hydrochlorothiazide aldactone spironolactone diamox acetazolamide mannitol metolazone zaroxolyn lopressor
metoprolol toprol atenolol tenormin labetalol carvedilol coreg esmolol brevibloc propranolol inderal
diltiazem cardizem verapamil calan nifedipine procardia amlodipine norvasc nicardipine cardene hydralazine
apresoline captopril capoten enalapril vasotec enalaprilat lisinopril zestril prinivil ramipril altace
losartan cozaar valsartan diovan nitroglycerin ntg nitro nitropaste nitroprusside nipride isordil imdur
digoxin lanoxin dig amiodarone cordarone procainamide lidocaine lido adenosine adenocard ibutilide corvert
sotalol dofetilide tikosyn dopamine dopa dobutamine dobutrex milrinone primacor levophed norepinephrine
neosynephrine neo phenylephrine epinephrine epi vasopressin pitressin isoproterenol isuprel atropine
insulin humulin novolin lantus glargine nph regular humalog lispro novolog aspart glucagon glipizide
glucotrol glyburide metformin glucophage avandia actos dextrose d50 d5w d5 d10 kayexalate calcium gluconate
kcl kphos potassium magnesium mag mgso4 sodium bicarbonate bicarb phosphate neutraphos vancomycin vanco
vanc zosyn piperacillin tazobactam unasyn ampicillin amoxicillin augmentin nafcillin oxacillin penicillin
pcn cefazolin ancef ceftriaxone rocephin ceftazidime fortaz cefepime maxipime cefuroxime ceftin cefoxitin
imipenem primaxin meropenem merrem aztreonam azactam gentamicin gent tobramycin tobra amikacin levofloxacin
levaquin ciprofloxacin cipro moxifloxacin avelox azithromycin zithromax erythromycin clindamycin
cleocin flagyl metronidazole bactrim septra tmp smx linezolid zyvox daptomycin synercid rifampin doxycycline
fluconazole diflucan amphotericin ambisome caspofungin voriconazole acyclovir ganciclovir valtrex nystatin
mycostatin clotrimazole miconazole protonix pantoprazole prilosec omeprazole nexium lansoprazole prevacid
pepcid famotidine zantac ranitidine carafate sucralfate reglan metoclopramide zofran ondansetron compazine
prochlorperazine phenergan promethazine colace docusate senna senokot dulcolax bisacodyl lactulose
miralax golytely fleets fleet kaopectate imodium loperamide lomotil simethicone maalox mylanta milk
magnesia mom benadryl diphenhydramine hydroxyzine atarax ambien zolpidem restoril temazepam trazodone
desyrel xanax alprazolam klonopin clonazepam dilantin phenytoin fosphenytoin cerebyx keppra levetiracetam
depakote valproate tegretol carbamazepine phenobarbital neurontin gabapentin solumedrol methylprednisolone
prednisone decadron dexamethasone hydrocortisone solucortef florinef fludrocortisone albuterol ventolin
proventil atrovent ipratropium combivent xopenex levalbuterol flovent advair serevent pulmicort mucomyst
acetylcysteine theophylline aminophylline synthroid levothyroxine lipitor atorvastatin zocor simvastatin
pravachol pravastatin crestor zetia niacin folate folic thiamine mvi multivitamin ferrous iron epogen
procrit aranesp neupogen ddavp desmopressin octreotide sandostatin vitamin protamine ffp prbc prbcs plts
cryo albumin hespan hetastarch ns lr nacl tpn ppn intralipid lipids ensure flomax tamsulosin proscar
finasteride detrol ditropan pyridium sinemet aricept namenda zoloft sertraline paxil prozac celexa lexapro
wellbutrin effexor elavil nortriptyline lithium buspar nicotine nicoderm chantix tums oscal calcitriol
rocaltrol renagel phoslo sevelamer cellcept tacrolimus prograf cyclosporine neoral imuran rapamune
sirolimus methotrexate cytoxan interferon ribavirin epivir zidovudine azt haart bactroban mupirocin silvadene
xeroform duoderm aquacel mepilex allevyn tegaderm santyl accuzyme betadine hibiclens chlorhexidine peridex
nitro-paste neo-synephrine solu-medrol d5ns d5lr d5half kvo tko
""".split()
)

CLINICAL = frozenset(
    """
abd abdo abg abgs abx accucheck accuchecks acls adl adls afib aflutter aline alines aaox aox aaox3 aox3 ams
amb amt angio ap appy ards arf art asd ashd atn avm avr bal bbs bcx bid bipap biv bivad bm bms bmp bnp boh
bpm brbpr bs bsa bx cabg cad cath caths cbc cbi ccu cdiff chf cmo cmv cns copd cp cpap cpk cpr crf crrt csf
csru cta ctab cva cvl cvp cvvh cvvhd cx cxr dat dc dced dcd dka dnr dni doa doe dsd dt dts dtr dvt dx ebl
ecg echo ecmo ed eeg egd ekg emt ems ent ercp esrd etoh ett ew extub extubated fen ffp fhx fio2 flex fsbs fu
fx gcs gerd gi gib gj gt gtt gtts gu hct hd hemodynamically hgb hob hoh hpi hr hrs hs htn hx iabp icd icp icu
id ij ileus im inr io irb itp iv ivc ivdu ivf jp jvd jvp kub lad lcx lfts lle llq lmp lol loc lp lr lue luq
lv lvh lvef mae mae's map mca mdi meds mg mi micu mmhg mrsa mri mrsa mvr na nad nas nc neb nebs neuro ngt
nh nicu niddm nkda npo nrb nsr nstemi nt ntd ob obs oob op or osh ot ota pa pac pacu pca pcp pcwp pe peep
peg perrl perrla pft picc plt pmh pmhx pna po pod pos pr prbc prn pt ptca pt's ptt pvc pvd qd qh qhs qid qod
ra rbc rca resp rhythm rij rle rll rlq rml rn ro rr rrr rsbi rue rul ruq rx sats sbp sbt sc sccm scds sicu
simv sl slp snf sob spo2 sq sr ssi stat stemi svg svt sx tbi tee tele tf tfs tia tid tkr tlc tmax tob tol tpn
trach tsh ttp tte tv tx ua ubx uo uop uri us uti va vad vap vats vbg vent vf vfib vre vs vss vt vtach wbc wnl
wob yo yr yrs s/p w/ w/o c/o r/o h/o f/u d/c b/l pt's pts hosp rehab sw cm pcp hcp poa dpoa nok rt rts
ho hos np nps md mds rns lpn cna pct sitter transporter intensivist hospitalist neurosurg neurosurgery
ortho gyn onc heme renal pulm cards cardiology ep nsg nursing resp gu ent plastics vascular ctsurg
csurg csru ctic ticu tsicu msicu cvicu ccu pacu micu sicu nicu picu ed ew er or ir cath lab echo lab rad
ct mri us ir cxr kub ap lat pa anc abs lymphs monos eos basos bands polys segs retic ldh alk phos ast alt
ggt tbili dbili lipase amylase trop troponin ck ckmb mb bun cr creat gluc glucose lytes phos ionized ica
lactate lact pco2 po2 pao2 paco2 sao2 svo2 scvo2 hco3 ph be fibrinogen ddimer fdp ptt inr esr crp ua ucx
bcx scx sputum cx gs afb ova parasites cdiff mrsa vre esbl gnr gpc gpr yeast candida flora cocci rods
bronch bronchoscopy trach peg picc tlc cvl aline swan ett ogt ngt dht jtube gtube cath foley rectal tube
mushroom flexiseal ostomy colostomy ileostomy urostomy nephrostomy chest tube ct jp hemovac pleurx
bp nbp abp sbp dbp fem occ fio psv cpt freq ros neg exp sys suct conts cont pnd asp cdb lcs gd rom sat pacs
pvcs ivs med meds interp immed cryst crystalloid colloid neosyn levo vaso pressors gtts lytes replete repleted
diuresed diurese diuresing diuresis tol tolerated tolerating ambulated ambulating dangled oob cdi ota dsg dsgs
drsg serosang serosanguinous sanguinous bilat bil lat ant post sup inf med prox dist ext int resp cardiac
pulm neuro psychosocial dispo hemodyn hemodynamics mae maew perl pupils brisk sluggish gag cough nt nts ett
yank yankauer suctioned ogt ngt lis lws lcws hypoactive hyperactive bs bsx4 abd distended nontender obese
tf tfs feeds residuals resid resids bm bms stool guaiac ob heme incont incontinent void voided voiding uo
uop cvvhd hd cvvh cc ccs mls hr hrs min mins sec secs qh qhr qshift noc eve eves am pm nite overnoc overnite
rec'd recd dc'd dcd dc'ed d/c'd txd tx'd transf trans xfer xferred
transfuse transfusing rvh bph tah mcgs
ami ci cv ps ss le st reg los nsb af og cd gd pc liq sxt intub drng ssri tng raf perla pcv nippv rrt vit contin
paco pao mso mgso ltr cmv hemi berg midnite pheresis plateau huo lix prvc aprv cpot rass cam sbt nif vc mv ve
ppi dvt ppx gi ivp sl ng og pr pv ef lvef rvef tr mr ar as ms ai pi pa ra rv lv la lvot avpaced vpaced apaced
paced ddd vvi aai dddr nsvt pac pvc svt junctional idioventricular asystole pea torsades qtc qrs pr bbb
hgb hct plt plts inr ptt pt k mg ca phos cl co2 bun cr gluc alb lft lfts wbc bands neuts lymph pmn crit hcts
npn ctscan perm incisional addendum opthamology opthalmology
""".split()
)
